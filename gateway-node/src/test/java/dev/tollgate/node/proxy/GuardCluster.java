package dev.tollgate.node.proxy;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.upstream.TargetStatus;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.GatewayNode;
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
import java.util.function.Predicate;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Real gateway nodes, each its own actor system with its own H2 database, joined into one cluster
 * on loopback and serving one config given whole; with a real HTTP client. For what the nodes
 * share through the cluster alone (the upstream guards), not through a database.
 */
final class GuardCluster implements AutoCloseable {

  final List<GatewayNode> nodes = new ArrayList<>();
  final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** Starts {@code count} nodes serving {@code yaml}: the first forms the cluster, the others join it. */
  static GuardCluster start(int count, String yaml) {
    GuardCluster cluster = new GuardCluster();
    int seedPort = freePort();
    try {
      var config = ConfigLoader.parse(yaml, "guard-test");
      List<java.util.concurrent.CompletableFuture<GatewayNode>> starting = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        NodeSettings s = ProxyFixture.defaultSettings();
        s = s.withCluster(s.cluster().withPort(i == 0 ? seedPort : 0)
                .withSeeds(i == 0 ? List.of() : List.of("127.0.0.1:" + seedPort)).withDownAfter(Duration.ofSeconds(2)))
            .withDirectory(s.directory().withMembers(List.of()));
        starting.add(GatewayNode.start(s,
            ConfigFactory.parseString("pekko.coordinated-shutdown.run-by-actor-system-terminate = off"), config)
            .toCompletableFuture());
      }
      starting.forEach(f -> cluster.nodes.add(f.join()));
    } catch (dev.tollgate.config.ConfigException e) {
      cluster.close();
      throw new IllegalArgumentException(e.errors().toString(), e);
    }
    cluster.awaitMembers(count);
    return cluster;
  }

  void awaitMembers(int count) {
    await(Duration.ofSeconds(30), "every node to see " + count + " members up", () -> nodes.stream().allMatch(n -> {
      int up = 0;
      for (var m : Cluster.get(n.system()).state().getMembers()) {
        if (m.status() == MemberStatus.up()) {
          up++;
        }
      }
      return up == count;
    }));
  }

  /** The status node {@code node}'s replica holds for target {@code id}. */
  static Optional<TargetStatus> status(GatewayNode node, String id) {
    return Optional.ofNullable(node.proxy().targets().statuses().get(id));
  }

  /** Whether every node's replica holds a status for {@code id} that {@code test} accepts. */
  boolean everyNodeSees(String id, Predicate<TargetStatus> test) {
    return nodes.stream().allMatch(n -> status(n, id).filter(test).isPresent());
  }

  HttpResponse<String> get(GatewayNode node, String path) {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.proxyAddress().getPort() + path))
        .timeout(Duration.ofSeconds(20)).GET().build());
  }

  /** Sends {@code method path} to the node's admin API, without a body. */
  HttpResponse<String> admin(GatewayNode node, String method, String path) {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminAddress().orElseThrow().getPort()
        + path)).timeout(Duration.ofSeconds(20)).method(method, HttpRequest.BodyPublishers.noBody()).build());
  }

  private HttpResponse<String> send(HttpRequest request) {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void await(Duration within, String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("waited " + within.toMillis() + " ms for " + what);
      }
      sleep(5);
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

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    // One at a time, the seed last: members leaving together wait for each other's exits.
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).shutdown(Duration.ofSeconds(5)).toCompletableFuture().join();
    }
    nodes.clear();
  }
}
