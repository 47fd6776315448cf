package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.ShardRoute;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reaches {@link ConsumerQuota} entities through Cluster Sharding, started on this node; a stopping
 * node hands its entities off first (see {@link ShardRoute}).
 *
 * <p>An answer that comes after its node stopped waiting (an entity that was recovering, or a
 * database slow to store the grant) is not lost: its tokens go back to the entity at once. The
 * caller's ask fails at its timeout, but the answer is still awaited {@link #LATE_ANSWERS} longer.
 */
public final class ShardedQuotaEntities implements QuotaEntities, QuotaUsage {

  /** How many ask timeouts the ask after an unanswered one waits. */
  private static final int AGAIN = 4;
  /** How long after its caller stopped waiting an answer is still awaited, to give its tokens back. */
  static final Duration LATE_ANSWERS = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(ShardedQuotaEntities.class);

  private final ActorSystem<?> system;
  private final ShardRoute<ConsumerQuota.Command> entities;
  private final Cluster cluster;
  private final Duration askTimeout;
  private final String node;

  /** Starts the entity's sharding on {@code system}; asks fail after {@code askTimeout}. */
  public ShardedQuotaEntities(ActorSystem<?> system, ConsumerQuota.Settings settings, Duration askTimeout) {
    this.system = system;
    this.entities = ConsumerQuota.initSharding(system, settings);
    this.cluster = Cluster.get(system);
    this.askTimeout = Objects.requireNonNull(askTimeout, "askTimeout");
    this.node = cluster.selfMember().uniqueAddress().address() + "#" + cluster.selfMember().uniqueAddress().longUid();
  }

  @Override
  public String node() {
    return node;
  }

  @Override
  public CompletionStage<ConsumerQuota.Answer> acquire(String entityId, List<ConsumerQuota.Ask> asks) {
    return acquire(entityId, asks, askTimeout);
  }

  /** Four times the ask timeout: the new home of a shard handed off answered 1-2 s later on a loaded 2-core machine. */
  @Override
  public CompletionStage<ConsumerQuota.Answer> acquireAgain(String entityId, List<ConsumerQuota.Ask> asks) {
    return acquire(entityId, asks, askTimeout.multipliedBy(AGAIN));
  }

  /**
   * As {@link #acquire(String, List)}, with a timeout of its own. An answer after the timeout has
   * its grants released at once: nobody will use them.
   */
  public CompletionStage<ConsumerQuota.Answer> acquire(String entityId, List<ConsumerQuota.Ask> asks, Duration timeout) {
    CompletableFuture<ConsumerQuota.Answer> forCaller = new CompletableFuture<>();
    long answerBy = System.currentTimeMillis() + timeout.toMillis();
    Cancellable timer = system.scheduler().scheduleOnce(timeout, () -> forCaller.completeExceptionally(
        new TimeoutException("no answer within " + timeout.toMillis() + " ms")),
        system.executionContext());
    entities.<ConsumerQuota.Answer>ask(entityId, replyTo -> new ConsumerQuota.Acquire(node, asks, answerBy, replyTo),
        timeout.plus(LATE_ANSWERS)).whenComplete((answer, failure) -> {
          timer.cancel();
          if (failure != null) {
            forCaller.completeExceptionally(failure);
          } else if (!forCaller.complete(answer)) {
            giveBack(entityId, asks, answer, answerBy);
          }
        });
    return forCaller;
  }

  /** Releases what a late answer granted. */
  private void giveBack(String entityId, List<ConsumerQuota.Ask> asks, ConsumerQuota.Answer answer, long answerBy) {
    List<ConsumerQuota.Ask> returns = new ArrayList<>();
    long tokens = 0;
    for (int i = 0; i < answer.grants().size() && i < asks.size(); i++) {
      ConsumerQuota.LeaseGrant g = answer.grants().get(i);
      if (g.tokens() > 0 && g.leaseId() > 0) {
        returns.add(ConsumerQuota.Ask.releaseAll(asks.get(i).limit(), g));
        tokens += g.tokens();
      }
    }
    if (!returns.isEmpty()) {
      LOG.debug("Quota entity {} answered {} ms after this node stopped waiting; giving its {} tokens back",
          entityId, System.currentTimeMillis() - answerBy, tokens);
      release(entityId, returns);
    }
  }

  @Override
  public void release(String entityId, List<ConsumerQuota.Ask> asks) {
    entities.tell(entityId, new ConsumerQuota.Release(node, asks));
  }

  @Override
  public CompletionStage<ConsumerQuota.Usage> usage(String entityId, List<LimitSpec> limits, Duration timeout) {
    return entities.ask(entityId, replyTo -> new ConsumerQuota.GetUsage(limits, replyTo), timeout);
  }

  @Override
  public int reachableNodes() {
    var state = cluster.state();
    long up = 0;
    for (var member : state.getMembers()) {
      if (member.status() == MemberStatus.up() || member.status() == MemberStatus.weaklyUp()) {
        up++;
      }
    }
    return (int) Math.max(1, up - state.getUnreachable().size());
  }
}
