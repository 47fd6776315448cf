package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.GatewayNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A node that forms its cluster through cluster bootstrap: membership starts Pekko Management
 * before the node's own start does, which gets the same binding, so {@code /alive} and {@code
 * /ready} are served on the configured port; and {@code /ready} still says 200 only once the node
 * is an Up member.
 */
class BootstrapHealthTest {

  static final String CONFIG = """
      upstreams:
        - name: app
          targets: [{url: "http://127.0.0.1:9"}]
      routes:
        - name: app
          match: {paths: [/]}
          upstream: app
      """;

  final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static NodeSettings bootstrapping(int managementPort, List<String> contactPoints, int required) {
    NodeSettings s = ProxyFixture.defaultSettings();
    return s.withManagement(s.management().withPort(managementPort))
        .withCluster(s.cluster().withDiscovery(NodeSettings.Cluster.Discovery.CONFIG,
            NodeSettings.Bootstrap.DEFAULT.withContactPoints(contactPoints).withRequiredContactPoints(required)));
  }

  @Test
  void aNodeThatBootstrapsItselfServesAliveAndReadyOnItsManagementPort() throws Exception {
    int management = freePort();
    GatewayNode node = GatewayNode.start(bootstrapping(management, List.of("127.0.0.1:" + management), 1),
        ConfigFactory.empty(), ConfigLoader.parse(CONFIG, "test")).toCompletableFuture().get(60, TimeUnit.SECONDS);
    try {
      assertThat(node.managementAddress().getPort()).as("the binding membership started").isEqualTo(management);
      URI base = URI.create("http://127.0.0.1:" + management);
      assertThat(status(base.resolve("/alive"))).isEqualTo(200);
      GuardCluster.await(Duration.ofSeconds(30), "the node to be ready", () -> status(base.resolve("/ready")) == 200);
    } finally {
      node.shutdown(Duration.ofSeconds(5)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aNodeWhoseContactPointsNeverAnswerIsAliveEarlyButNeverReady() throws Exception {
    int management = freePort();
    int silent = freePort(); // nothing listens there
    CompletableFuture<GatewayNode> starting = GatewayNode.start(
        bootstrapping(management, List.of("127.0.0.1:" + management, "127.0.0.1:" + silent), 2),
        ConfigFactory.empty(), ConfigLoader.parse(CONFIG, "test")).toCompletableFuture();
    URI base = URI.create("http://127.0.0.1:" + management);
    // Management is up while the node still waits for the cluster: an orchestrator's liveness
    // check passes, its readiness check does not.
    GuardCluster.await(Duration.ofSeconds(15), "/alive while starting", () -> status(base.resolve("/alive")) == 200);
    assertThat(status(base.resolve("/ready"))).isEqualTo(503);
    // The start itself finishes (the quota warm-up gives up after 20 s); still no cluster, so not ready.
    GatewayNode node = starting.get(60, TimeUnit.SECONDS);
    try {
      assertThat(status(base.resolve("/ready"))).isEqualTo(503);
      assertThat(status(base.resolve("/alive"))).isEqualTo(200);
    } finally {
      node.shutdown(Duration.ofSeconds(5)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private int status(URI uri) {
    try {
      return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
