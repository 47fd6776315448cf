package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tollgate.config.ConfigLoader;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.pattern.Patterns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Balancing, health and config changes seen from a real client through a real node. */
class UpstreamBehaviourThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void consistentHashKeepsAUserOnOneTarget() {
    try (TestUpstream a = TestUpstream.start("a", kit.system());
        TestUpstream b = TestUpstream.start("b", kit.system());
        TestUpstream c = TestUpstream.start("c", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: %s}, {url: %s}, {url: %s}]
                balancer: consistent-hash
                hash_on: {header: X-User}
            routes:
              - {name: app, match: {paths: [/]}, upstream: app}
            """.formatted(a.url(), b.url(), c.url()))) {
      Map<String, String> firstTarget = new HashMap<>();
      for (int round = 0; round < 5; round++) {
        for (int user = 0; user < 30; user++) {
          String body = proxy.get("/x", "X-User", "user-" + user).body();
          assertThat(firstTarget.computeIfAbsent("user-" + user, k -> body)).as("user-%d", user).isEqualTo(body);
        }
      }
      assertThat(new java.util.HashSet<>(firstTarget.values())).hasSizeGreaterThan(1);
    }
  }

  @Test
  void activeHealthChecksTakeATargetOutAndBringItBack() {
    try (TestUpstream healthy = TestUpstream.start("healthy", kit.system());
        TestUpstream sick = TestUpstream.start("sick", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: %s}, {url: %s}]
                health_check:
                  active: {path: /health, interval: 100ms, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 2}
            routes:
              - {name: app, match: {paths: [/]}, upstream: app}
            """.formatted(healthy.url(), sick.url()))) {
      sick.answer(r -> CompletableFuture.completedFuture(
          org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE)));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        for (int i = 0; i < 6; i++) {
          assertThat(proxy.get("/x").body()).isEqualTo("healthy");
        }
      });
      sick.answer(r -> CompletableFuture.completedFuture(sick.ok()));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 6; i++) {
          seen.add(proxy.get("/x").body());
        }
        assertThat(seen).containsExactlyInAnyOrder("healthy", "sick");
      });
    }
  }

  @Test
  void aNewConfigAppliesAtOnceAndARequestInFlightFinishesOnItsOwnVersion() throws Exception {
    try (TestUpstream old = TestUpstream.start("old", kit.system());
        TestUpstream fresh = TestUpstream.start("new", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - {name: app, targets: [{url: %s}]}
            routes:
              - {name: app, match: {paths: [/]}, upstream: app}
            """.formatted(old.url()))) {
      old.answer(r -> Patterns.after(Duration.ofMillis(800), kit.system().classicSystem().scheduler(),
          kit.system().executionContext(), () -> CompletableFuture.completedFuture(old.ok())));
      CompletableFuture<HttpResponse<String>> inFlight = proxy.client.sendAsync(
          java.net.http.HttpRequest.newBuilder(proxy.uri("/slow")).build(), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(5)).until(() -> old.requests() == 1);

      proxy.node.apply(ConfigLoader.parse("""
          upstreams:
            - {name: app, targets: [{url: %s}]}
          routes:
            - {name: app, match: {paths: [/]}, upstream: app}
          """.formatted(fresh.url()), "next"));

      assertThat(proxy.get("/after").body()).isEqualTo("new");
      assertThat(inFlight.get().statusCode()).isEqualTo(200);
      assertThat(inFlight.get().body()).isEqualTo("old");
    }
  }
}
