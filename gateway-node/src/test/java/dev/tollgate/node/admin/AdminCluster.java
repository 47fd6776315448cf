package dev.tollgate.node.admin;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.quota.ConsumerQuota;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.GatewayNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Real nodes in one JVM, joined in one Pekko cluster on loopback and one directory, sharing a real
 * PostgreSQL, in front of a real upstream; each with its admin API on a free loopback port.
 * Leases left unused go back to their entities 200 ms after a consumer's last request, and the
 * admin API waits 1 s for the cluster.
 */
final class AdminCluster implements AutoCloseable {

  final ActorTestKit kit = ActorTestKit.create();
  final RecordingUpstream upstream = new RecordingUpstream(kit.system());
  final EmbeddedPostgres postgres;
  final List<GatewayNode> nodes = new ArrayList<>();

  /**
   * @param yaml the config; {@code %s} is the upstream's URL
   * @param adjust changes to each node's settings
   */
  AdminCluster(String yaml, int count, UnaryOperator<NodeSettings> adjust) throws IOException {
    postgres = EmbeddedPostgres.builder().start();
    try {
      int seedPort = freePort();
      List<String> directory = new ArrayList<>();
      List<Integer> directoryPorts = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        directoryPorts.add(freePort());
        directory.add("127.0.0.1:" + directoryPorts.get(i));
      }
      // One after the other: each directory member then joins the cluster the first one formed.
      for (int i = 0; i < count; i++) {
        NodeSettings s = AdminNode.settings();
        NodeSettings.Quota q = s.quota();
        s = s.withCluster(i == 0 ? s.cluster().withPort(seedPort)
                : s.cluster().withPort(0).withSeeds(List.of("127.0.0.1:" + seedPort)))
            .withDirectory(s.directory().withPort(directoryPorts.get(i)).withMembers(directory))
            .withStorage(s.storage().withPostgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres"))
            .withQuota(new NodeSettings.Quota(q.askTimeout(), q.unavailableBackoff(), Duration.ofMillis(200),
                q.passivateAfter()))
            .withAdmin(s.admin().withClusterTimeout(Duration.ofSeconds(1)));
        nodes.add(GatewayNode.start(adjust.apply(s),
            // A test can crash a node: terminating its actor system then skips leaving the cluster.
            ConfigFactory.parseString("pekko.coordinated-shutdown.run-by-actor-system-terminate = off"),
            ConfigLoader.parse(yaml.formatted(upstream.url()), "cluster-test")).toCompletableFuture().join());
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!nodes.stream().allMatch(n -> upMembers(n) == count && n.directory().orElseThrow().members() == count)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the nodes did not see " + count + " members up in 30 s");
        }
        Thread.sleep(100);
      }
    } catch (dev.tollgate.config.ConfigException e) {
      close();
      throw new IllegalArgumentException(e.errors().toString(), e);
    } catch (InterruptedException e) {
      close();
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (RuntimeException | IOException e) {
      close();
      throw e;
    }
  }

  static int upMembers(GatewayNode node) {
    int up = 0;
    for (var m : Cluster.get(node.system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        up++;
      }
    }
    return up;
  }

  AdminNode admin(GatewayNode node) {
    return new AdminNode(node);
  }

  static String address(GatewayNode node) {
    return Cluster.get(node.system()).selfMember().address().toString();
  }

  /** The quota shards and entities this node's region holds now, asked of the region itself. */
  static ShardRegion.CurrentShardRegionState regionState(GatewayNode node) {
    return AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(node.system()).shardState(),
            replyTo -> new GetShardRegionState(ConsumerQuota.TYPE_KEY, replyTo),
            Duration.ofSeconds(5), node.system().scheduler())
        .toCompletableFuture().join();
  }

  /** The node whose region holds the quota entity {@code entityId}, if one holds it now. */
  Optional<GatewayNode> hostOf(String entityId) {
    for (GatewayNode node : nodes) {
      for (ShardRegion.ShardState shard : regionState(node).getShards()) {
        if (shard.getEntityIds().contains(entityId)) {
          return Optional.of(node);
        }
      }
    }
    return Optional.empty();
  }

  /** Stops a node abruptly: no leaving, no handing off; the others find it unreachable. */
  void crash(GatewayNode node) {
    nodes.remove(node);
    node.quota().close();
    node.system().terminate();
    node.system().getWhenTerminated().toCompletableFuture().join();
    node.directory().ifPresent(d -> d.close());
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    try {
      for (GatewayNode node : List.copyOf(nodes)) {
        node.shutdown(Duration.ofSeconds(5)).toCompletableFuture().join();
      }
      nodes.clear();
    } finally {
      try {
        postgres.close();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      } finally {
        upstream.close();
        kit.shutdownTestKit();
      }
    }
  }
}
