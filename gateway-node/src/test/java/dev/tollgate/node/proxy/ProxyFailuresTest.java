package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.pattern.Patterns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Upstream failures: retries to another target when safe, and 502, 503, 504 answers otherwise. */
class ProxyFailuresTest {

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** A loopback port with nothing listening on it. */
  static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void retryMovesToTheOtherTargetWhenOneIsDownButAPostIsNotRetried() throws Exception {
    try (TestUpstream up = TestUpstream.start("up", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: "http://127.0.0.1:%d"}, {url: %s}]
                health_check: {passive: {consecutive_failures: 0}}
                # Neither ejection nor the breaker: every other POST meets the dead target.
                circuit_breaker: {enabled: false}
            routes:
              - name: app
                match: {paths: [/]}
                upstream: app
            """.formatted(closedPort(), up.url()))) {
      for (int i = 0; i < 20; i++) {
        assertThat(proxy.get("/get/" + i).statusCode()).as("GET %d", i).isEqualTo(200);
      }
      assertThat(up.requests()).isEqualTo(20);

      Map<Integer, Integer> postStatuses = new HashMap<>();
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/post"))
            .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        postStatuses.merge(r.statusCode(), 1, Integer::sum);
      }
      // Round-robin sends half the POSTs to the dead target, and they are not retried.
      assertThat(postStatuses).containsOnlyKeys(200, 502);
      assertThat(postStatuses.get(502)).isEqualTo(10);
    }
  }

  @Test
  void routeMayAllowRetryingNonIdempotentMethods() throws Exception {
    try (TestUpstream up = TestUpstream.start("up", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: "http://127.0.0.1:%d"}, {url: %s}]
                health_check: {passive: {consecutive_failures: 0}}
            routes:
              - name: app
                match: {paths: [/]}
                retry_non_idempotent: true
                upstream: app
            """.formatted(closedPort(), up.url()))) {
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/post"))
            .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(r.statusCode()).isEqualTo(200);
      }
    }
  }

  @Test
  void allTargetsDownGives502ProblemJson() throws Exception {
    try (ProxyFixture proxy = ProxyFixture.start("""
        upstreams:
          - name: app
            targets: [{url: "http://127.0.0.1:%d"}]
        routes:
          - name: app
            match: {paths: [/]}
            upstream: app
        """.formatted(closedPort()))) {
      HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
      assertThat(r.body()).contains("upstream-failed", "request_id");
    }
  }

  @Test
  void passivelyEjectedTargetsLeaveNoHealthyTargetAnd503WithRetryAfter() throws Exception {
    try (ProxyFixture proxy = ProxyFixture.start("""
        upstreams:
          - name: app
            targets: [{url: "http://127.0.0.1:%d"}]
            retries: {max: 0}
            health_check: {passive: {consecutive_failures: 2, ejection_time: 1m}}
        routes:
          - name: app
            match: {paths: [/]}
            upstream: app
        """.formatted(closedPort()))) {
      assertThat(proxy.get("/x").statusCode()).isEqualTo(502);
      assertThat(proxy.get("/x").statusCode()).isEqualTo(502);
      HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
      assertThat(r.body()).contains("no-healthy-target");
    }
  }

  @Test
  void slowUpstreamGives504AfterTheRouteTimeout() throws Exception {
    try (TestUpstream slow = TestUpstream.start("slow", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: %s}]
                retries: {max: 0}
            routes:
              - name: app
                match: {paths: [/]}
                timeout: 300ms
                upstream: app
            """.formatted(slow.url()))) {
      slow.answer(r -> Patterns.after(Duration.ofSeconds(3), kit.system().classicSystem().scheduler(),
          kit.system().executionContext(), () -> CompletableFuture.completedFuture(slow.ok())));
      long start = System.nanoTime();
      HttpResponse<String> r = proxy.get("/slow");
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertThat(r.statusCode()).isEqualTo(504);
      assertThat(r.body()).contains("upstream-timeout");
      assertThat(tookMs).isLessThan(2500);
    }
  }

  @Test
  void retriesConfiguredStatusesOnAnotherTarget() throws Exception {
    try (TestUpstream failing = TestUpstream.start("failing", kit.system());
        TestUpstream good = TestUpstream.start("good", kit.system());
        ProxyFixture proxy = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: %s}, {url: %s}]
                retries: {max: 1, on: [503]}
                health_check: {passive: {consecutive_failures: 0}}
            routes:
              - name: app
                match: {paths: [/]}
                upstream: app
            """.formatted(failing.url(), good.url()))) {
      failing.answer(r -> CompletableFuture.completedFuture(
          org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE)));
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = proxy.get("/x");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("good");
      }
      // A retry takes the other target's turn, so round-robin sends each first attempt to the failing one.
      assertThat(failing.requests()).isEqualTo(10);
      assertThat(good.requests()).isEqualTo(10);
    }
  }
}
