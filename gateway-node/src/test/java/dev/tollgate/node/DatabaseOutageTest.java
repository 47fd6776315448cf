package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A PostgreSQL outage under a running node: proxying goes on, a plan that says {@code deny} refuses
 * once the node's lease is spent and one that says {@code local_share} admits its share, and when
 * the database is back the usage stored before the outage is still there.
 */
class DatabaseOutageTest {

  static final String CONFIG = """
      upstreams:
        - name: backend
          targets: [{url: "%s"}]
      plans:
        - name: strict
          limits: [{requests: 50, per: hour}]
          on_unavailable: deny
        - name: lenient
          limits: [{requests: 50, per: hour}]
          on_unavailable: local_share
      consumers:
        - {id: strict, plan: strict, api_keys: [{key: key-strict-0123456789}]}
        - {id: lenient, plan: lenient, api_keys: [{key: key-lenient-0123456789}]}
        - {id: free, api_keys: [{key: key-free-0123456789}]}
      routes:
        - name: api
          match: {paths: [/api]}
          upstream: backend
      """;

  static EmbeddedPostgres postgres(Path dataDir, int port) throws Exception {
    return EmbeddedPostgres.builder().setDataDirectory(dataDir).setCleanDataDirectory(false).setPort(port).start();
  }

  /** The tokens the consumer's entity has leased out to nodes, summed over its limits, as the admin API reads them. */
  static long leasedOut(GatewayNode node, String consumer) throws Exception {
    java.net.InetSocketAddress admin = node.adminAddress().orElseThrow();
    HttpResponse<String> usage = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + admin.getPort() + "/consumers/"
            + consumer + "/usage")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(usage.statusCode()).as(usage.body()).isEqualTo(200);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"leased_out\":(\\d+)").matcher(usage.body());
    long out = 0;
    boolean any = false;
    while (m.find()) {
      out += Long.parseLong(m.group(1));
      any = true;
    }
    assertThat(any).as(usage.body()).isTrue();
    return out;
  }

  @Test
  void proxyingGoesOnThroughAnOutageAndStoredUsageSurvivesIt() throws Exception {
    QuotaClusterTest.awayFromTheEndOf(ChronoUnit.HOURS);
    Path pgData = Files.createTempDirectory("tollgate-pg");
    int port = QuotaCluster.freePort();
    EmbeddedPostgres pg = postgres(pgData, port);
    QuotaCluster cluster = new QuotaCluster(pg, CONFIG).start(1);
    try {
      GatewayNode node = cluster.nodes.get(0);
      for (int i = 0; i < 20; i++) {
        assertThat(cluster.send(node, "key-strict-0123456789").statusCode()).isEqualTo(200);
      }
      assertThat(cluster.send(node, "key-lenient-0123456789").statusCode()).isEqualTo(200);
      // Idle leases go back to the entity (and into the database) after a second. Until the
      // return is stored, the unused part of the lease is out, and would stay counted as spent if
      // the database went now (the entity shows a return only once it is stored).
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
          .until(() -> leasedOut(node, "strict") == 0 && leasedOut(node, "lenient") == 0);

      pg.close();
      QuotaCluster.Tally strict = cluster.offer(60, "key-strict-0123456789", List.of(node), 1);
      QuotaCluster.Tally lenient = cluster.offer(60, "key-lenient-0123456789", List.of(node), 1);
      QuotaCluster.Tally free = cluster.offer(30, "key-free-0123456789", List.of(node), 1);
      System.out.printf("database down: strict %s, lenient %s, no plan %s%n", strict, lenient, free);
      assertThat(free.admitted()).as("routes without limits proxy as ever").isEqualTo(30);
      assertThat(strict.unavailable()).as("deny, once the lease is spent").isPositive();
      assertThat(strict.admitted() + strict.unavailable()).isEqualTo(60);
      assertThat(lenient.admitted()).as("the local share: 50 / 1 node").isBetween(45, 50);
      HttpResponse<String> refused = cluster.send(node, "key-strict-0123456789");
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.body()).contains("urn:tollgate:problem:quota-unavailable");
      assertThat(refused.headers().firstValue("Retry-After")).isPresent();

      EmbeddedPostgres back = postgres(pgData, port);
      try {
        // The entity reloads with back-off; then the 20 stored before the outage still count.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
            .until(() -> cluster.send(node, "key-strict-0123456789").statusCode() == 200);
        QuotaCluster.Tally after = cluster.offer(100, "key-strict-0123456789", List.of(node), 1);
        System.out.printf("database back: strict %s%n", after);
        assertThat(1 + after.admitted()).as("50 - 20 spent before the outage").isLessThanOrEqualTo(30);
        // A grant stored after its node stopped waiting (while the database came back) is never
        // used: the node gives it back when the late answer comes (ShardedQuotaEntities), and
        // tokens are lost to the consumer only if it comes more than 5 s late; never admitted twice.
        assertThat(1 + after.admitted()).isGreaterThanOrEqualTo(20);
      } finally {
        cluster.close();
        back.close();
      }
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }
}
