package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.GatewayNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/**
 * Three nodes in one JVM, one Pekko cluster and one directory, sharing a real PostgreSQL: a key
 * issued through one node's admin API works on the others' proxies, and once revoked there, the
 * others refuse it within a second.
 */
class KeyRevocationAcrossNodesTest {

  static final String CONFIG = """
      upstreams:
        - name: app
          targets: [{url: "%s"}]
      routes:
        - name: api
          match: {paths: [/api]}
          upstream: app
          auth: {accept: [api_key]}
      """;

  @Test
  void aKeyRevokedThroughOneNodesAdminApiIsRefusedByTheOtherNodesProxiesWithinOneSecond() throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    RecordingUpstream upstream = new RecordingUpstream(kit.system());
    EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
    List<GatewayNode> nodes = new ArrayList<>();
    try {
      int seedPort = freePort();
      List<Integer> directoryPorts = List.of(freePort(), freePort(), freePort());
      List<String> members = directoryPorts.stream().map(p -> "127.0.0.1:" + p).toList();
      // One after the other: each directory member then joins the cluster the first one formed.
      for (int i = 0; i < 3; i++) {
        NodeSettings s = AdminNode.settings();
        NodeSettings.Cluster cluster = i == 0 ? s.cluster().withPort(seedPort)
            : s.cluster().withPort(0).withSeeds(List.of("127.0.0.1:" + seedPort));
        nodes.add(AdminNode.startNode(CONFIG.formatted(upstream.url()), s.withCluster(cluster)
            .withDirectory(s.directory().withPort(directoryPorts.get(i)).withMembers(members))
            .withStorage(s.storage().withPostgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres"))));
      }
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> nodes.stream().allMatch(n -> n.directory().orElseThrow().members() == 3));
      AdminNode a = new AdminNode(nodes.get(0));
      GatewayNode b = nodes.get(1);
      GatewayNode c = nodes.get(2);

      assertThat(a.admin("POST", "/consumers", "{\"id\": \"roaming\", \"groups\": [\"partners\"]}").statusCode())
          .isEqualTo(201);
      var issued = json(a.admin("POST", "/consumers/roaming/keys", null).body());
      String key = issued.path("key").asText();
      for (GatewayNode other : List.of(b, c)) {
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
            .until(() -> AdminNode.proxy(other, "/api", key).statusCode() == 200);
        assertThat(upstream.lastHeader("X-Consumer-Id")).isEqualTo("roaming");
        assertThat(upstream.lastHeader("X-Consumer-Groups")).isEqualTo("partners");
      }

      long start = System.nanoTime();
      assertThat(a.admin("DELETE", "/consumers/roaming/keys/" + issued.path("key_id").asText(), null).statusCode())
          .isEqualTo(204);
      long revoked = System.nanoTime();
      long deadline = start + Duration.ofSeconds(5).toNanos();
      long[] refusedAt = new long[2];
      List<GatewayNode> others = List.of(b, c);
      // Bounded polling: each round asks each node that has not refused the key yet.
      while ((refusedAt[0] == 0 || refusedAt[1] == 0) && System.nanoTime() < deadline) {
        for (int i = 0; i < 2; i++) {
          if (refusedAt[i] == 0 && AdminNode.proxy(others.get(i), "/api", key).statusCode() == 401) {
            refusedAt[i] = System.nanoTime();
          }
        }
      }
      assertThat(refusedAt).as("both other nodes refused the key within 5 s").doesNotContain(0L);
      long deleteMs = (revoked - start) / 1_000_000;
      long bMs = (refusedAt[0] - start) / 1_000_000;
      long cMs = (refusedAt[1] - start) / 1_000_000;
      System.out.printf("Revocation through node A's admin API (DELETE answered after %d ms): node B refused the key"
          + " after %d ms, node C after %d ms (from sending the DELETE)%n", deleteMs, bMs, cMs);
      assertThat(Math.max(bMs, cMs)).as("ms until both other nodes refuse the revoked key").isLessThanOrEqualTo(1000);
      assertThat(AdminNode.proxy(a.node, "/api", key).statusCode()).isEqualTo(401);
      // And the listing on every node agrees: no keys left.
      for (GatewayNode n : nodes) {
        assertThat(new AdminNode(n).admin("GET", "/consumers/roaming/keys", null).body()).isEqualTo("[]");
      }
    } finally {
      for (int i = nodes.size() - 1; i >= 0; i--) {
        nodes.get(i).shutdown(Duration.ofSeconds(5)).toCompletableFuture().join();
      }
      postgres.close();
      upstream.close();
      kit.shutdownTestKit();
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
