package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.config.ConfigStore;
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
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Nodes take their routes from the cluster's config store: the first node's file seeds it, a later
 * node's changed file replaces it on every node, a version applied through the store is served by
 * both nodes, and after a full restart it is back: a node's file never overwrites it.
 */
class ClusterConfigTest {

  static EmbeddedPostgres postgres;
  static ActorSystem<Void> upstreamSystem;
  static DemoUpstream upstream;
  static int databases;
  final List<GatewayNode> nodes = new ArrayList<>();
  /** A database of its own for each test: each starts with an empty config store. */
  String database;

  @org.junit.jupiter.api.BeforeEach
  void freshDatabase() throws Exception {
    database = "config_test_" + (++databases);
    try (var c = postgres.getPostgresDatabase().getConnection(); var st = c.createStatement()) {
      st.execute("CREATE DATABASE " + database);
    }
  }
  final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws IOException {
    postgres = EmbeddedPostgres.start();
    upstreamSystem = ActorSystem.create(Behaviors.empty(), "upstream",
        ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    upstream = DemoUpstream.start(upstreamSystem, "backend", "127.0.0.1", 0).toCompletableFuture().join();
  }

  @AfterAll
  static void stopAll() throws IOException {
    upstreamSystem.terminate();
    postgres.close();
  }

  @AfterEach
  void stopNodes() {
    nodes.forEach(n -> n.shutdown(Duration.ofSeconds(1)).toCompletableFuture().join());
    nodes.clear();
  }

  static String doc(String path) {
    return """
        upstreams:
          - name: backend
            targets: [{url: "http://127.0.0.1:%d"}]
        routes:
          - name: only
            match: {paths: [%s]}
            upstream: backend
        """.formatted(upstream.address().getPort(), path);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  NodeSettings settings(int clusterPort, List<String> seeds) {
    NodeSettings s = NodeSettingsLoader.defaults();
    return s.withProxy(s.proxy().withHost("127.0.0.1").withPort(0))
        .withCluster(s.cluster().withPort(clusterPort).withSeeds(seeds).withDownAfter(Duration.ofSeconds(2)))
        .withDirectory(s.directory().withPort(0).withMembers(List.of()))
        .withAdmin(s.admin().withPort(0))
        .withManagement(s.management().withPort(0).withReadyDelay(java.time.Duration.ZERO))
        .withMetrics(s.metrics().withPort(0))
        .withStorage(s.storage().withPostgres(postgres.getJdbcUrl("postgres", database), "postgres", "postgres"));
  }

  GatewayNode node(int clusterPort, List<String> seeds, String document, String source) throws Exception {
    GatewayNode node = GatewayNode.start(settings(clusterPort, seeds), ConfigFactory.parseString("pekko.loglevel = WARNING"),
        new GatewayNode.ConfigSeed(document, source)).toCompletableFuture().join();
    nodes.add(node);
    return node;
  }

  int status(GatewayNode node, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.proxyAddress().getPort() + path)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void theStoreNotTheFilesDecidesWhatEveryNodeServes() throws Exception {
    int seedPort = freePort();
    GatewayNode a = node(seedPort, List.of(), doc("/one"), "a.yaml");
    GatewayNode b = node(0, List.of("127.0.0.1:" + seedPort), doc("/other"), "b.yaml");
    // b's file differs from version 1, which came from a file too: it becomes version 2 everywhere.
    assertThat(status(b, "/other")).isEqualTo(200);
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10)).until(() -> status(a, "/other") == 200);
    assertThat(status(a, "/one")).isEqualTo(404);

    var store = ConfigStore.singleton(b.system(), Clock.systemUTC());
    ConfigStore.Reply reply = AskPattern.<ConfigStore.Command, ConfigStore.Reply>ask(store,
        r -> new ConfigStore.Apply(doc("/two"), "test", r), Duration.ofSeconds(10), b.system().scheduler())
        .toCompletableFuture().join();
    assertThat(reply).isInstanceOfSatisfying(ConfigStore.Applied.class, x -> assertThat(x.version().version()).isEqualTo(3));
    long applied = System.nanoTime();
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
        .until(() -> status(a, "/two") == 200 && status(b, "/two") == 200);
    System.out.printf("version 3 served by both nodes %d ms after the store answered%n", (System.nanoTime() - applied) / 1_000_000);
    assertThat(status(a, "/other")).isEqualTo(404);

    stopNodes();
    // A full restart with the first file again: the version applied through the store is back.
    int again = freePort();
    GatewayNode restarted = node(again, List.of(), doc("/one"), "a.yaml");
    assertThat(status(restarted, "/two")).isEqualTo(200);
    assertThat(status(restarted, "/one")).isEqualTo(404);
  }

  HttpResponse<String> admin(GatewayNode node, String method, String path, String contentType, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminAddress().orElseThrow().getPort() + path));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theAdminApiAppliesValidatesAndRollsBackTheClustersConfig() throws Exception {
    GatewayNode a = node(freePort(), List.of(), doc("/one"), "a.yaml");
    HttpResponse<String> current = admin(a, "GET", "/config", null, null);
    assertThat(current.statusCode()).isEqualTo(200);
    assertThat(current.body()).contains("\"version\":1", "\"applied_by\":\"seed:a.yaml\"", "/one");

    // Invalid: every error with its path, and nothing changes anywhere.
    String invalid = doc("/two").replace("upstream: backend", "upstream: nowhere").replace("name: only", "name: only\n    bogus: 1");
    HttpResponse<String> refused = admin(a, "PUT", "/config", "application/yaml", invalid);
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(refused.body()).contains("invalid-config", "routes[0].upstream", "routes[0].bogus");
    assertThat(admin(a, "GET", "/config/versions", null, null).body()).doesNotContain("\"version\":2");
    assertThat(status(a, "/one")).isEqualTo(200);

    HttpResponse<String> dry = admin(a, "PUT", "/config?dry_run=true", "application/yaml", doc("/two"));
    assertThat(dry.statusCode()).isEqualTo(200);
    assertThat(dry.body()).contains("\"valid\":true", "\"routes\":1");
    assertThat(status(a, "/two")).as("a dry run applies nothing").isEqualTo(404);

    HttpResponse<String> applied = admin(a, "PUT", "/config", "application/yaml", doc("/two"));
    assertThat(applied.statusCode()).isEqualTo(200);
    assertThat(applied.body()).contains("\"version\":2", "\"changed\":true", "\"applied_by\":\"admin-api\"");
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10)).until(() -> status(a, "/two") == 200);
    assertThat(admin(a, "PUT", "/config", "application/yaml", doc("/two")).body())
        .contains("\"version\":2", "\"changed\":false");

    HttpResponse<String> rollback = admin(a, "POST", "/config/rollback/1", null, null);
    assertThat(rollback.statusCode()).isEqualTo(200);
    assertThat(rollback.body()).contains("\"version\":3", "\"rollback_of\":1");
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10)).until(() -> status(a, "/one") == 200);
    assertThat(admin(a, "POST", "/config/rollback/99", null, null).statusCode()).isEqualTo(404);
    assertThat(admin(a, "GET", "/config/rollback/1", null, null).statusCode()).isEqualTo(405);
    assertThat(admin(a, "PUT", "/config", "text/html", "<p>").statusCode()).isEqualTo(415);
    assertThat(admin(a, "GET", "/config/versions", null, null).body())
        .contains("\"version\":1", "\"version\":2", "\"version\":3");
  }
}
