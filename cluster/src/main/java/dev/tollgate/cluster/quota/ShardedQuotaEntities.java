package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.ShardRoute;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Reaches {@link ConsumerQuota} entities through Cluster Sharding, started on this node; a stopping
 * node hands its entities off first (see {@link ShardRoute}).
 */
public final class ShardedQuotaEntities implements QuotaEntities, QuotaUsage {

  /** How many ask timeouts the ask after an unanswered one waits. */
  private static final int AGAIN = 4;

  private final ShardRoute<ConsumerQuota.Command> entities;
  private final Cluster cluster;
  private final Duration askTimeout;
  private final String node;

  /** Starts the entity's sharding on {@code system}; asks fail after {@code askTimeout}. */
  public ShardedQuotaEntities(ActorSystem<?> system, ConsumerQuota.Settings settings, Duration askTimeout) {
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

  /** As {@link #acquire(String, List)}, with a timeout of its own. */
  public CompletionStage<ConsumerQuota.Answer> acquire(String entityId, List<ConsumerQuota.Ask> asks, Duration timeout) {
    return entities.ask(entityId,
        replyTo -> new ConsumerQuota.Acquire(node, asks, System.currentTimeMillis() + timeout.toMillis(), replyTo),
        timeout);
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
