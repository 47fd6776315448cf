package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tollgate.cluster.quota.LeasedQuotaClient;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The quota invariants on three real nodes (actor systems joined on loopback, each serving HTTP)
 * sharing a real PostgreSQL: under skewed load the cluster admits at most the limit and nearly all
 * of it; nothing is over-admitted when the entity's node is downed or leaves; a full restart keeps
 * a day's usage; and an unreachable entity brings the plan's {@code on_unavailable} into play.
 */
class QuotaClusterTest {

  static final String CONFIG = """
      upstreams:
        - name: backend
          targets: [{url: "%s"}]
      plans:
        - name: hourly
          limits: [{requests: 1000, per: hour}]
          on_unavailable: deny
        - name: daily
          limits: [{requests: 1000, per: day}]
          on_unavailable: deny
        - name: shared
          limits: [{requests: 300, per: hour}]
          on_unavailable: local_share
      consumers:
        - {id: skew, plan: hourly, api_keys: [{key: key-skew-0123456789}]}
        - {id: down, plan: hourly, api_keys: [{key: key-down-0123456789}]}
        - {id: move, plan: hourly, api_keys: [{key: key-move-0123456789}]}
        - {id: restart, plan: daily, api_keys: [{key: key-restart-0123456789}]}
        - {id: deny, plan: hourly, api_keys: [{key: key-deny-0123456789}]}
      SHARED_CONSUMERS
      routes:
        - name: api
          match: {paths: [/api]}
          upstream: backend
      """;

  static final int SHARED_CANDIDATES = 24;

  static EmbeddedPostgres postgres;
  QuotaCluster cluster;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.start();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  @AfterEach
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  static String config() {
    String shared = IntStream.range(0, SHARED_CANDIDATES)
        .mapToObj(i -> "  - {id: share" + i + ", plan: shared, api_keys: [{key: key-share" + i + "-0123456789}]}")
        .collect(Collectors.joining("\n"));
    return CONFIG.replace("SHARED_CONSUMERS", shared);
  }

  QuotaCluster startCluster() {
    cluster = new QuotaCluster(postgres, config()).start(3);
    return cluster;
  }

  /** Waits out the last minute of a window, so that a test's requests all fall in one window. */
  static void awayFromTheEndOf(ChronoUnit window) {
    Instant now = Instant.now();
    Instant end = now.truncatedTo(window).plus(1, window);
    if (Duration.between(now, end).compareTo(Duration.ofSeconds(90)) < 0) {
      QuotaCluster.sleep(Duration.between(now, end).toMillis() + 1000);
    }
  }

  static double remoteShare(List<GatewayNode> nodes) {
    long decisions = 0;
    long remote = 0;
    for (GatewayNode n : nodes) {
      LeasedQuotaClient.Stats s = n.quota().stats();
      decisions += s.decisions();
      remote += s.remote();
    }
    return decisions == 0 ? 0 : (double) remote / decisions;
  }

  @Test
  void underSkewedLoadTheClusterAdmitsAtMostTheLimitAndNearlyAllOfIt() {
    awayFromTheEndOf(ChronoUnit.HOURS);
    QuotaCluster c = startCluster();
    QuotaCluster.Tally tally = c.offer(2500, "key-skew-0123456789", c.nodes, 70, 20, 10);
    System.out.printf("skewed 70/20/10: %s; decisions that waited for the entity: %.2f %%%n", tally,
        100 * remoteShare(c.nodes));
    assertThat(tally.other()).isZero();
    assertThat(tally.unavailable()).isZero();
    assertThat(tally.admitted()).as("never above the limit").isLessThanOrEqualTo(1000);
    assertThat(tally.admitted()).as("at least 98 %% of it").isGreaterThanOrEqualTo(980);
    assertThat(tally.limited()).isEqualTo(2500 - tally.admitted());

    HttpResponse<String> refused = c.send(c.nodes.get(0), "key-skew-0123456789");
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(refused.body()).contains("urn:tollgate:problem:rate-limited", "hourly-hour");
    long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 3600L);
    assertThat(refused.headers().firstValue("RateLimit-Policy")).hasValue("\"hourly-hour\";q=1000;w=3600");
    assertThat(refused.headers().firstValue("RateLimit").orElseThrow()).startsWith("\"hourly-hour\";r=0;t=");
  }

  @Test
  void downingTheEntitysNodeMidWindowDoesNotOverAdmit() {
    awayFromTheEndOf(ChronoUnit.HOURS);
    QuotaCluster c = startCluster();
    String key = "key-down-0123456789";
    QuotaCluster.Tally before = c.offer(500, key, c.nodes, 70, 20, 10);
    GatewayNode host = c.hostOf("c:down").orElseThrow();
    List<GatewayNode> survivors = c.others(host);
    org.apache.pekko.cluster.typed.Cluster.get(survivors.get(0).system()).manager().tell(
        new org.apache.pekko.cluster.typed.Down(org.apache.pekko.cluster.typed.Cluster.get(host.system()).selfMember().address()));
    c.crash(host);
    // Until the entity has restarted on a survivor, its plan (deny) refuses what leases do not cover.
    int whileMoving = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    while (System.nanoTime() < deadline) {
      if (c.send(survivors.get(0), key).statusCode() == 200) {
        whileMoving++;
        if (c.hostOf("c:down").isPresent()) {
          break;
        }
      }
      QuotaCluster.sleep(50);
    }
    assertThat(c.hostOf("c:down")).as("the entity restarted on a survivor").isPresent();
    QuotaCluster.Tally after = c.offer(2000, key, survivors, 70, 30);
    System.out.printf("before downing: %s; while the entity moved: %d admitted; after: %s%n", before, whileMoving, after);
    assertThat(before.admitted()).isEqualTo(500);
    assertThat(before.admitted() + whileMoving + after.admitted()).as("never above the limit").isLessThanOrEqualTo(1000);
    // What the downed node held in its lease is lost, towards under-admission; the rest is spent.
    assertThat(before.admitted() + whileMoving + after.admitted()).isGreaterThanOrEqualTo(800);
  }

  @Test
  void whenTheEntitysShardMovesNothingIsOverAdmitted() {
    awayFromTheEndOf(ChronoUnit.HOURS);
    QuotaCluster c = startCluster();
    String key = "key-move-0123456789";
    QuotaCluster.Tally before = c.offer(400, key, c.nodes, 70, 20, 10);
    GatewayNode host = c.hostOf("c:move").orElseThrow();
    List<GatewayNode> survivors = c.others(host);
    c.stopGracefully(host);
    c.awaitMembers(2);
    QuotaCluster.Tally after = c.offer(2000, key, survivors, 70, 30);
    GatewayNode newHost = c.hostOf("c:move").orElseThrow();
    System.out.printf("before the move: %s; after: %s%n", before, after);
    assertThat(newHost).isNotSameAs(host);
    assertThat(before.admitted()).isEqualTo(400);
    assertThat(before.admitted() + after.admitted()).as("never above the limit").isLessThanOrEqualTo(1000);
    // The leaving node gave back what it did not use.
    assertThat(before.admitted() + after.admitted()).isGreaterThanOrEqualTo(980);
  }

  @Test
  void aFullRestartKeepsTheDaysUsage() {
    awayFromTheEndOf(ChronoUnit.DAYS);
    QuotaCluster c = startCluster();
    String key = "key-restart-0123456789";
    QuotaCluster.Tally spent = c.offer(900, key, c.nodes, 70, 20, 10);
    assertThat(spent.admitted()).isEqualTo(900);
    c.stopNodes();

    c.start(3);
    QuotaCluster.Tally more = c.offer(300, key, c.nodes, 70, 20, 10);
    System.out.printf("900 spent before the restart; after it: %s%n", more);
    assertThat(more.admitted()).as("only the 100 left").isLessThanOrEqualTo(100).isGreaterThanOrEqualTo(98);
  }

  @Test
  void anUnreachableEntityBringsThePlansOnUnavailableIntoPlay() {
    awayFromTheEndOf(ChronoUnit.HOURS);
    QuotaCluster c = startCluster();
    assertThat(c.send(c.nodes.get(0), "key-deny-0123456789").statusCode()).isEqualTo(200);
    GatewayNode host = c.hostOf("c:deny").orElseThrow();
    // A local_share consumer whose entity lives on the same node.
    int shared = -1;
    for (int i = 0; i < SHARED_CANDIDATES && shared < 0; i++) {
      assertThat(c.send(c.nodes.get(0), "key-share" + i + "-0123456789").statusCode()).isEqualTo(200);
      if (c.hostOf("c:share" + i).orElseThrow() == host) {
        shared = i;
      }
    }
    assertThat(shared).as("a candidate hosted with c:deny").isNotNegative();
    List<GatewayNode> survivors = c.others(host);
    c.crash(host);

    // deny: once the lease is spent, 503 with Retry-After until the entity is back.
    QuotaCluster.Tally denied = c.offer(60, "key-deny-0123456789", survivors, 50, 50);
    HttpResponse<String> refused = c.send(survivors.get(0), "key-deny-0123456789");
    System.out.printf("deny while unreachable: %s%n", denied);
    assertThat(denied.unavailable()).isPositive();
    assertThat(denied.other()).isZero();

    // local_share: each survivor admits up to 300 / 2 reachable nodes while the entity is unreachable.
    String sharedKey = "key-share" + shared + "-0123456789";
    QuotaCluster.Tally local = c.offer(400, sharedKey, survivors, 50, 50);
    long localShare = survivors.stream().mapToLong(n -> n.quota().stats().localShare()).sum();
    System.out.printf("local_share while unreachable: %s, %d admitted from local shares%n", local, localShare);
    assertThat(localShare).isPositive().isLessThanOrEqualTo(300);
    assertThat(local.admitted()).isLessThanOrEqualTo(300);

    if (refused.statusCode() == 503) {
      assertThat(refused.body()).contains("urn:tollgate:problem:quota-unavailable");
      assertThat(refused.headers().firstValue("Retry-After")).isPresent();
    }
    // Once the split-brain resolver has downed the node, the entity restarts elsewhere from the database.
    await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500))
        .until(() -> c.send(survivors.get(0), "key-deny-0123456789").statusCode() == 200);
  }
}
