package dev.tollgate.node.proxy;

import static dev.tollgate.node.proxy.GuardCluster.await;
import static dev.tollgate.node.proxy.GuardCluster.sleep;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.upstream.TargetStatus.Breaker;
import dev.tollgate.cluster.upstream.TargetStatus.Health;
import dev.tollgate.node.GatewayNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import java.net.http.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Upstream health and circuit breakers decided once for the cluster: three real nodes in one JVM,
 * each with its own database, in front of real upstream servers. What one target's guard decides,
 * every node's balancer follows from its own replica.
 */
class BreakersAcrossNodesTest {

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aKilledTargetIsDroppedByEveryNodeWithinASecondOfItsBreakerOpeningAndTheProbeBringsItBack() throws Exception {
    ActorSystem<Void> doomedSystem = ActorSystem.create(Behaviors.empty(), "doomed");
    TestUpstream doomed = TestUpstream.start("doomed", doomedSystem);
    int doomedPort = doomed.port();
    try (TestUpstream steady = TestUpstream.start("steady", kit.system());
        GuardCluster cluster = GuardCluster.start(3, """
            upstreams:
              - name: app
                targets: [{url: "http://127.0.0.1:%d"}, {url: %s}]
                health_check:
                  active: {path: /healthz, interval: 200ms, timeout: 500ms, healthy_threshold: 2, unhealthy_threshold: 2}
                  passive: {consecutive_failures: 0}
                circuit_breaker: {failure_rate: 50%%, minimum_calls: 10, window: 5s, open_duration: 30s}
            routes:
              - name: app
                match: {paths: [/]}
                upstream: app
            """.formatted(doomedPort, steady.url()));
        Traffic traffic = new Traffic(cluster, "/work")) {
      String id = "app/127.0.0.1:" + doomedPort;
      await(Duration.ofSeconds(10), "both targets to take requests", () -> doomed.requestsTo("/work") > 10);

      doomedSystem.terminate();
      doomedSystem.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
      Map<Integer, Long> seenAt = new ConcurrentHashMap<>();
      await(Duration.ofSeconds(10), "every node to see the breaker open", () -> {
        for (int i = 0; i < cluster.nodes.size(); i++) {
          if (GuardCluster.status(cluster.nodes.get(i), id).filter(s -> s.breaker() == Breaker.OPEN).isPresent()) {
            seenAt.putIfAbsent(i, System.currentTimeMillis());
          }
        }
        return seenAt.size() == cluster.nodes.size();
      });
      long openedAt = GuardCluster.status(cluster.nodes.get(0), id).orElseThrow().breakerSinceMillis();
      long slowest = seenAt.values().stream().mapToLong(t -> t - openedAt).max().orElseThrow();
      System.out.printf("breaker-open propagation: %s ms after the guard opened it (per node)%n",
          seenAt.values().stream().map(t -> t - openedAt).toList());
      assertThat(slowest).as("ms from the breaker opening to the last node seeing it").isLessThanOrEqualTo(1000);

      // Every node now sends everything to the steady target, with no failed attempt in between.
      int steadyBefore = steady.requests();
      for (GatewayNode node : cluster.nodes) {
        for (int i = 0; i < 10; i++) {
          assertThat(cluster.get(node, "/check").statusCode()).isEqualTo(200);
        }
      }
      assertThat(steady.requests() - steadyBefore).isGreaterThanOrEqualTo(30);

      await(Duration.ofSeconds(5), "every node to see the target unhealthy",
          () -> cluster.everyNodeSees(id, s -> s.health() == Health.UNHEALTHY));
      ActorSystem<Void> revivedSystem = ActorSystem.create(Behaviors.empty(), "revived");
      try (TestUpstream revived = TestUpstream.start("revived", revivedSystem, doomedPort)) {
        await(Duration.ofSeconds(10), "the probe to bring the target back on every node",
            () -> cluster.everyNodeSees(id, s -> s.health() == Health.HEALTHY && s.breaker() == Breaker.CLOSED));
        await(Duration.ofSeconds(5), "requests to reach the revived target", () -> revived.requestsTo("/work") > 0);
      } finally {
        revivedSystem.terminate();
      }
      assertThat(traffic.answers()).doesNotContainKey(502);
    } finally {
      doomedSystem.terminate();
    }
  }

  @Test
  void halfOpenLetsTheWholeClusterSendExactlyTheConfiguredProbes() {
    try (TestUpstream failing = TestUpstream.start("failing", kit.system());
        GuardCluster cluster = GuardCluster.start(3, """
            upstreams:
              - name: app
                targets: [{url: %s}]
                health_check: {passive: {consecutive_failures: 0}}
                circuit_breaker: {failure_rate: 50%%, minimum_calls: 5, window: 10s, open_duration: 1s, half_open_probes: 3}
            routes:
              - name: app
                match: {paths: [/]}
                upstream: app
            """.formatted(failing.url()))) {
      // Slow failures: every probe of an episode is sent before the first one's failure is known.
      failing.answer(request -> CompletableFuture.supplyAsync(() -> org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE),
          CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)));
      String id = "app/127.0.0.1:" + failing.port();
      try (Traffic traffic = new Traffic(cluster, "/work")) {
        await(Duration.ofSeconds(10), "every node to see the breaker open",
            () -> cluster.everyNodeSees(id, s -> s.breaker() == Breaker.OPEN));
        long openEpoch = GuardCluster.status(cluster.nodes.get(0), id).orElseThrow().epoch();
        sleep(350);
        long before = failing.requestsTo("/work");

        await(Duration.ofSeconds(10), "a half-open episode to fail and open the breaker again",
            () -> cluster.everyNodeSees(id, s -> s.breaker() == Breaker.OPEN && s.epoch() >= openEpoch + 2));
        sleep(350);
        long probes = failing.requestsTo("/work") - before;
        assertThat(probes).as("probe requests the cluster sent in one half-open episode").isEqualTo(3);

        failing.answer(request -> CompletableFuture.completedFuture(failing.ok()));
        await(Duration.ofSeconds(10), "three good probes to close the breaker on every node",
            () -> cluster.everyNodeSees(id, s -> s.breaker() == Breaker.CLOSED));
        for (GatewayNode node : cluster.nodes) {
          assertThat(cluster.get(node, "/after").statusCode()).isEqualTo(200);
        }
      }
    }
  }

  @Test
  void aForcedOpenThroughTheAdminApiStopsEveryNodeUntilItIsReleased() {
    try (TestUpstream up = TestUpstream.start("up", kit.system());
        GuardCluster cluster = GuardCluster.start(3, """
            upstreams:
              - name: app
                targets: [{url: %s}]
            routes:
              - name: app
                match: {paths: [/]}
                upstream: app
            """.formatted(up.url()))) {
      String id = "app/127.0.0.1:" + up.port();
      for (GatewayNode node : cluster.nodes) {
        assertThat(cluster.get(node, "/before").statusCode()).isEqualTo(200);
      }

      String forcedOpen = "/upstreams/app/targets/127.0.0.1:" + up.port() + "/forced-open";
      HttpResponse<String> forced = cluster.admin(cluster.nodes.get(1), "POST", forcedOpen);
      assertThat(forced.statusCode()).isEqualTo(200);
      assertThat(forced.body()).contains("\"breaker\":\"FORCED_OPEN\"").contains("forced open by admin-api");
      await(Duration.ofSeconds(2), "every node to see the forced open",
          () -> cluster.everyNodeSees(id, s -> s.breaker() == Breaker.FORCED_OPEN));
      long reached = up.requestsTo("/during");
      for (GatewayNode node : cluster.nodes) {
        var answer = cluster.get(node, "/during");
        assertThat(answer.statusCode()).isEqualTo(503);
        assertThat(answer.headers().firstValue("Retry-After")).isPresent();
      }
      assertThat(up.requestsTo("/during")).isEqualTo(reached);

      HttpResponse<String> shown = cluster.admin(cluster.nodes.get(0), "GET", "/upstreams/app");
      assertThat(shown.body()).contains("\"breaker\":\"FORCED_OPEN\"").contains("\"available\":false")
          .contains("\"available_targets\":0");
      HttpResponse<String> released = cluster.admin(cluster.nodes.get(2), "DELETE", forcedOpen);
      assertThat(released.statusCode()).isEqualTo(200);
      assertThat(released.body()).contains("\"breaker\":\"CLOSED\"").contains("released by admin-api");
      assertThat(cluster.admin(cluster.nodes.get(0), "POST", "/upstreams/app/targets/127.0.0.1:1/forced-open").statusCode())
          .isEqualTo(404);
      assertThat(cluster.admin(cluster.nodes.get(0), "GET", "/upstreams/nope").statusCode()).isEqualTo(404);
      await(Duration.ofSeconds(2), "every node to see the release",
          () -> cluster.everyNodeSees(id, s -> s.breaker() == Breaker.CLOSED));
      for (GatewayNode node : cluster.nodes) {
        assertThat(cluster.get(node, "/after").statusCode()).isEqualTo(200);
      }
    }
  }

  @Test
  void theClusterProbesATargetOncePerIntervalNotOncePerNode() {
    try (TestUpstream up = TestUpstream.start("up", kit.system());
        GuardCluster cluster = GuardCluster.start(3, """
            upstreams:
              - name: app
                targets: [{url: %s}]
                health_check:
                  active: {path: /healthz, interval: 200ms}
            routes:
              - name: app
                match: {paths: [/]}
                upstream: app
            """.formatted(up.url()))) {
      String id = "app/127.0.0.1:" + up.port();
      await(Duration.ofSeconds(5), "the guard to publish the target healthy",
          () -> cluster.everyNodeSees(id, s -> s.health() == Health.HEALTHY));
      sleep(500);
      long before = up.requestsTo("/healthz");
      sleep(3000);
      long probes = up.requestsTo("/healthz") - before;
      System.out.printf("probes in 3 s at a 200 ms interval, 3 nodes: %d%n", probes);
      // Once per interval for the cluster is 15 in 3 s; once per node would be 45.
      assertThat(probes).isBetween(11L, 18L);
    }
  }

  @Test
  void aTargetRemovedFromTheConfigLosesItsGuard() throws Exception {
    try (TestUpstream kept = TestUpstream.start("kept", kit.system());
        TestUpstream dropped = TestUpstream.start("dropped", kit.system());
        GuardCluster cluster = GuardCluster.start(3, twoTargets(kept.url(), dropped.url()))) {
      String droppedId = "app/127.0.0.1:" + dropped.port();
      String keptId = "app/127.0.0.1:" + kept.port();
      await(Duration.ofSeconds(5), "both guards to publish",
          () -> cluster.everyNodeSees(droppedId, s -> true) && cluster.everyNodeSees(keptId, s -> true));

      var next = dev.tollgate.config.ConfigLoader.parse(twoTargets(kept.url(), null), "without the dropped target");
      cluster.nodes.forEach(node -> node.apply(next));

      await(Duration.ofSeconds(5), "the dropped target's status to leave every replica",
          () -> cluster.nodes.stream().allMatch(n -> GuardCluster.status(n, droppedId).isEmpty()));
      assertThat(cluster.everyNodeSees(keptId, s -> true)).isTrue();
    }
  }

  private static String twoTargets(String first, String second) {
    return """
        upstreams:
          - name: app
            targets: [{url: %s}%s]
        routes:
          - name: app
            match: {paths: [/]}
            upstream: app
        """.formatted(first, second == null ? "" : ", {url: " + second + "}");
  }

  /** One client per node sending GETs back to back until closed (at most 60 s); tallies the statuses. */
  static final class Traffic implements AutoCloseable {
    private final ExecutorService workers = Executors.newFixedThreadPool(3);
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    private final List<java.util.concurrent.Future<?>> loops = new ArrayList<>();

    Traffic(GuardCluster cluster, String path) {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      for (GatewayNode node : cluster.nodes) {
        loops.add(workers.submit(() -> {
          while (running.get() && System.nanoTime() - deadline < 0) {
            int status = cluster.get(node, path).statusCode();
            statuses.computeIfAbsent(status, s -> new AtomicInteger()).incrementAndGet();
            sleep(5);
          }
        }));
      }
    }

    Map<Integer, Integer> answers() {
      Map<Integer, Integer> copy = new java.util.HashMap<>();
      statuses.forEach((k, v) -> copy.put(k, v.get()));
      return copy;
    }

    @Override
    public void close() {
      running.set(false);
      workers.shutdown();
      try {
        workers.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
