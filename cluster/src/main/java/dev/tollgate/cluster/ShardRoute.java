package dev.tollgate.cluster;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends to the entities of one sharded type, and hands this node's shards off as soon as the node
 * starts stopping rather than after it has drained.
 *
 * <p>Pekko hands a stopping node's shards off late, after the service phases: on a busy machine the
 * node is by then closing its other members (the directory's data migrates), and the shards' new
 * homes take longer than callers on the other nodes wait. Here, when coordinated shutdown begins
 * and another member is up to take them, the region is told to shut down gracefully at once, while
 * this node is healthy and still serving; its own messages go from then on through a proxy region
 * (Pekko's region in proxy mode, registered beside the hosting one), which follows the shards to
 * their new homes. A node alone in its cluster keeps its shards to the end: nobody could take them.
 *
 * <p>Only for entity types started with the default message extractor: the proxy computes shard ids
 * as the hosting regions do.
 */
public final class ShardRoute<M> {

  private static final Logger LOG = LoggerFactory.getLogger(ShardRoute.class);
  /** How long the early hand-off may take before Pekko's own shutdown of the region takes over. */
  private static final Duration HAND_OFF_TIMEOUT = Duration.ofSeconds(30);

  private final ActorSystem<?> system;
  private final String typeName;
  private final ActorRef<ShardingEnvelope<M>> region;
  private final ActorRef<ShardingEnvelope<M>> proxy;
  private volatile ActorRef<ShardingEnvelope<M>> route;

  private ShardRoute(ActorSystem<?> system, String typeName, ActorRef<ShardingEnvelope<M>> region,
      ActorRef<ShardingEnvelope<M>> proxy) {
    this.system = system;
    this.typeName = typeName;
    this.region = region;
    this.proxy = proxy;
    this.route = region;
  }

  /** Starts sharding of {@code entity} on this node, and its proxy, and hands off early on shutdown. */
  public static <M> ShardRoute<M> start(ActorSystem<?> system, Entity<M, ShardingEnvelope<M>> entity) {
    Objects.requireNonNull(system, "system");
    if (entity.messageExtractor().isPresent()) {
      throw new IllegalArgumentException("entity " + entity.typeKey().name()
          + ": has a message extractor of its own (expected: the default, whose shard ids the proxy repeats)");
    }
    ActorRef<ShardingEnvelope<M>> region = ClusterSharding.get(system).init(entity);
    String typeName = entity.typeKey().name();
    HashCodeMessageExtractor<M> shards =
        new HashCodeMessageExtractor<>(ClusterShardingSettings.create(system).numberOfShards());
    org.apache.pekko.actor.ActorRef classicProxy = org.apache.pekko.cluster.sharding.ClusterSharding
        .get(system.classicSystem())
        .startProxy(typeName, Optional.empty(), new ShardRegion.MessageExtractor() {
          @Override
          public String entityId(Object message) {
            return message instanceof ShardingEnvelope<?> envelope ? envelope.entityId() : null;
          }

          @Override
          public Object entityMessage(Object message) {
            // A proxy never delivers to an entity: it forwards the envelope to the hosting region.
            return message;
          }

          @Override
          public String shardId(Object message) {
            return message instanceof ShardingEnvelope<?> envelope ? shards.shardId(envelope.entityId()) : null;
          }
        });
    ShardRoute<M> route = new ShardRoute<>(system, typeName, region, Adapter.toTyped(classicProxy));
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(),
        "tollgate-hand-off-" + typeName, () -> {
          // Not waited for: the node serves on meanwhile, and Pekko's own phase waits for the region.
          route.handOff();
          return CompletableFuture.completedFuture(Done.getInstance());
        });
    return route;
  }

  /** Sends {@code message} to entity {@code entityId}, wherever it lives. */
  public void tell(String entityId, M message) {
    route.tell(new ShardingEnvelope<>(entityId, message));
  }

  /** Asks entity {@code entityId}; fails after {@code timeout}. */
  public <R> CompletionStage<R> ask(String entityId, Function<ActorRef<R>, M> message, Duration timeout) {
    return AskPattern.ask(route, replyTo -> new ShardingEnvelope<>(entityId, message.apply(replyTo)), timeout,
        system.scheduler());
  }

  /**
   * Starts handing this node's shards to the other members, unless no other member is up to take
   * them, and from then on sends through the proxy; logs when the region has stopped.
   */
  private void handOff() {
    if (!othersCanHost()) {
      LOG.debug("{}: this node is not up, or no other member is up to take its shards; they hand off with the node",
          typeName);
      return;
    }
    route = proxy;
    long start = System.nanoTime();
    LOG.info("{}: handing this node's shards off ahead of stopping", typeName);
    Patterns.gracefulStop(Adapter.toClassic(region), HAND_OFF_TIMEOUT, ShardRegion.gracefulShutdownInstance())
        .whenComplete((stopped, failure) -> {
          if (failure == null && stopped) {
            LOG.info("{}: shards handed off in {} ms", typeName, (System.nanoTime() - start) / 1_000_000);
          } else {
            LOG.warn("{}: the shards' hand-off did not finish within {} s; Pekko's shutdown of the region takes over",
                typeName, HAND_OFF_TIMEOUT.toSeconds());
          }
        });
  }

  private boolean othersCanHost() {
    Cluster cluster = Cluster.get(system);
    Member self = cluster.selfMember();
    if (self.status() != MemberStatus.up()) {
      // Downed, or leaving already: Pekko's own shutdown of the region does what can be done.
      return false;
    }
    var state = cluster.state();
    for (Member member : state.getMembers()) {
      if (!member.uniqueAddress().equals(self.uniqueAddress()) && member.status() == MemberStatus.up()
          && !state.getUnreachable().contains(member)) {
        return true;
      }
    }
    return false;
  }
}
