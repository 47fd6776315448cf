package dev.tollgate.node;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.quota.ConsumerQuota;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.node.demo.DemoUpstream;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Real gateway nodes, each its own actor system joined on loopback and serving HTTP, sharing a real
 * PostgreSQL, in front of a real upstream; and a load driver that spreads requests over them.
 */
final class QuotaCluster implements AutoCloseable {

  /** How the requests of a run were answered. */
  record Tally(int admitted, int limited, int unavailable, int other) {
    int total() {
      return admitted + limited + unavailable + other;
    }
  }

  final EmbeddedPostgres postgres;
  final ActorSystem<Void> upstreamSystem;
  final DemoUpstream upstream;
  final List<GatewayNode> nodes = new ArrayList<>();
  final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final ExecutorService load = Executors.newFixedThreadPool(12);
  private final String yaml;
  /** How long a stopping node's /ready answers 503 before it stops accepting; none by default. */
  Duration readyDelay = Duration.ZERO;
  /** Whether the nodes' directory members form one Hazelcast cluster, as in production; apart by default. */
  boolean sharedDirectory;
  /**
   * Whether a crashed node is downed as soon as its port refuses (tollgate.cluster.down-crashed, on
   * by default); off, a crash looks like a partition, which only the resolver's down-after ends.
   */
  boolean downCrashed = true;

  /** @param yamlAfterUpstream the config's plans, consumers and routes; {@code %s} is the upstream's URL */
  QuotaCluster(EmbeddedPostgres postgres, String yamlAfterUpstream) {
    this.postgres = postgres;
    this.upstreamSystem = ActorSystem.create(Behaviors.empty(), "upstream", ConfigFactory.parseString(
        "pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    this.upstream = DemoUpstream.start(upstreamSystem, "backend", "127.0.0.1", 0).toCompletableFuture().join();
    this.yaml = yamlAfterUpstream.formatted("http://127.0.0.1:" + upstream.address().getPort());
  }

  GatewayConfig config() {
    try {
      return ConfigLoader.parse(yaml, "cluster-test");
    } catch (dev.tollgate.config.ConfigException e) {
      throw new IllegalArgumentException(e.errors().toString(), e);
    }
  }

  /** Starts {@code count} nodes: the first forms the cluster, the others join it. */
  QuotaCluster start(int count) {
    int seedPort = freePort();
    List<Integer> directoryPorts = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      directoryPorts.add(sharedDirectory ? freePort() : 0);
    }
    List<String> directoryMembers = sharedDirectory
        ? directoryPorts.stream().map(p -> "127.0.0.1:" + p).toList() : List.of();
    List<java.util.concurrent.CompletableFuture<GatewayNode>> starting = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      starting.add(GatewayNode.start(settings(i == 0 ? seedPort : 0, i == 0 ? List.of() : List.of("127.0.0.1:" + seedPort),
              directoryPorts.get(i), directoryMembers),
          // A test can crash a node: terminating its actor system then skips leaving the cluster.
          ConfigFactory.parseString("pekko.coordinated-shutdown.run-by-actor-system-terminate = off\n"
              + "pekko.loglevel = INFO"),
          config()).toCompletableFuture());
    }
    starting.forEach(f -> nodes.add(f.join()));
    awaitMembers(count);
    return this;
  }

  private NodeSettings settings(int clusterPort, List<String> seeds, int directoryPort, List<String> directoryMembers) {
    NodeSettings s = NodeSettingsLoader.defaults();
    return s.withProxy(s.proxy().withHost("127.0.0.1").withPort(0))
        .withCluster(s.cluster().withPort(clusterPort).withSeeds(seeds).withDownAfter(Duration.ofSeconds(2))
            .withDownCrashed(downCrashed))
        // The quota tests need no directory cluster unless they ask: each node's member keeps to itself.
        .withDirectory(s.directory().withPort(directoryPort).withMembers(directoryMembers))
        .withAdmin(s.admin().withPort(0))
        .withManagement(s.management().withPort(0).withReadyDelay(readyDelay))
        .withMetrics(s.metrics().withPort(0))
        .withStorage(s.storage().withPostgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres"));
  }

  void awaitMembers(int count) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = nodes.stream().allMatch(n -> upMembers(n) == count);
      if (all) {
        return;
      }
      sleep(100);
    }
    throw new IllegalStateException("the nodes did not see " + count + " members up in 30 s");
  }

  static int upMembers(GatewayNode node) {
    int up = 0;
    for (var m : Cluster.get(node.system()).state().getMembers()) {
      if (m.status() == org.apache.pekko.cluster.MemberStatus.up()) {
        up++;
      }
    }
    return up;
  }

  /** Sends one request to a node, as the consumer holding {@code apiKey}; returns the status. */
  HttpResponse<String> send(GatewayNode node, String apiKey) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.proxyAddress().getPort() + "/api/x"))
        .timeout(Duration.ofSeconds(20)).header("X-Api-Key", apiKey).GET().build();
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Offers {@code requests} requests of one consumer, spread over {@code targets} by {@code weights}
   * (such as 70/20/10), from 12 concurrent clients; returns how they were answered.
   */
  Tally offer(int requests, String apiKey, List<GatewayNode> targets, int... weights) {
    int sum = 0;
    for (int w : weights) {
      sum += w;
    }
    int total = sum;
    AtomicInteger admitted = new AtomicInteger();
    AtomicInteger limited = new AtomicInteger();
    AtomicInteger unavailable = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    AtomicInteger next = new AtomicInteger();
    List<Future<?>> workers = new ArrayList<>();
    for (int t = 0; t < 12; t++) {
      Random random = new Random(t);
      workers.add(load.submit(() -> {
        while (next.getAndIncrement() < requests) {
          int pick = random.nextInt(total);
          int node = 0;
          while (pick >= weights[node]) {
            pick -= weights[node];
            node++;
          }
          int status = send(targets.get(node), apiKey).statusCode();
          switch (status) {
            case 200 -> admitted.incrementAndGet();
            case 429 -> limited.incrementAndGet();
            case 503 -> unavailable.incrementAndGet();
            default -> other.incrementAndGet();
          }
        }
      }));
    }
    for (Future<?> w : workers) {
      try {
        w.get();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return new Tally(admitted.get(), limited.get(), unavailable.get(), other.get());
  }

  /** The node whose shard region holds the entity {@code entityId}, if any holds it now. */
  Optional<GatewayNode> hostOf(String entityId) {
    for (GatewayNode node : nodes) {
      ShardRegion.CurrentShardRegionState state = AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
              ClusterSharding.get(node.system()).shardState(),
              replyTo -> new GetShardRegionState(ConsumerQuota.TYPE_KEY, replyTo),
              Duration.ofSeconds(5), node.system().scheduler())
          .toCompletableFuture().join();
      for (ShardRegion.ShardState shard : state.getShards()) {
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
  }

  /** Stops a node gracefully: it returns its tokens, leaves, and its shards move. */
  void stopGracefully(GatewayNode node) {
    nodes.remove(node);
    node.shutdown(Duration.ofSeconds(5)).toCompletableFuture().join();
  }

  List<GatewayNode> others(GatewayNode except) {
    return nodes.stream().filter(n -> n != except).toList();
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Stops every node still running, gracefully, and the upstream. */
  void stopNodes() {
    for (GatewayNode node : List.copyOf(nodes)) {
      stopGracefully(node);
    }
  }

  @Override
  public void close() {
    try {
      stopNodes();
    } finally {
      load.shutdownNow();
      upstreamSystem.terminate();
      upstreamSystem.getWhenTerminated().toCompletableFuture().join();
    }
  }
}
