package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** W3C Trace Context through one real node, as a real upstream receives it. */
class TraceContextThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static final String VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  static TestUpstream upstream;
  static TestUpstream failing;
  static TestUpstream good;
  static ProxyFixture proxy;

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
    failing = TestUpstream.start("failing", kit.system());
    good = TestUpstream.start("good", kit.system());
    failing.answer(r -> CompletableFuture.completedFuture(
        org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE)));
    proxy = ProxyFixture.start("""
        upstreams:
          - name: app
            targets: [{url: %s}]
          - name: retried
            targets: [{url: %s}, {url: %s}]
            retries: {max: 1, on: [503]}
            health_check: {passive: {consecutive_failures: 0}}
        routes:
          - name: app
            match: {paths: [/app]}
            upstream: app
          - name: retried
            match: {paths: [/retried]}
            upstream: retried
        """.formatted(upstream.url(), failing.url(), good.url()));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    upstream.close();
    failing.close();
    good.close();
    kit.shutdownTestKit();
  }

  @Test
  void aValidTraceparentAndItsTracestatePassUnchanged() {
    proxy.get("/app/a", "traceparent", VALID, "tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    TestUpstream.Seen seen = upstream.last();
    assertThat(seen.header("traceparent")).isEqualTo(VALID);
    assertThat(seen.count("traceparent")).isEqualTo(1);
    assertThat(seen.header("tracestate")).isEqualTo("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");

    String future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-more";
    proxy.get("/app/b", "traceparent", future);
    assertThat(upstream.last().header("traceparent")).as("a later version, parsed as 00").isEqualTo(future);
  }

  @Test
  void withoutATraceparentANewSampledTraceStarts() {
    proxy.get("/app/a");
    String first = upstream.last().header("traceparent");
    proxy.get("/app/a");
    String second = upstream.last().header("traceparent");
    assertThat(TraceParent.traceId(first)).as(first).isNotNull();
    assertThat(first).startsWith("00-").endsWith("-01");
    assertThat(TraceParent.traceId(second)).isNotEqualTo(TraceParent.traceId(first));
  }

  @Test
  void anInvalidTraceparentIsReplacedAndItsTracestateDropped() {
    for (String bad : new String[] {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        VALID + "-extra",
        "garbage"}) {
      proxy.get("/app/a", "traceparent", bad, "tracestate", "congo=t61rcWkgMzE");
      TestUpstream.Seen seen = upstream.last();
      String sent = seen.header("traceparent");
      assertThat(sent).as(bad).isNotEqualTo(bad);
      assertThat(TraceParent.traceId(sent)).as(sent).isNotNull().isNotEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(seen.count("traceparent")).isEqualTo(1);
      assertThat(seen.header("tracestate")).as("tracestate of " + bad).isNull();
    }
    // Two traceparent headers: neither can be trusted.
    proxy.get("/app/a", "traceparent", VALID, "traceparent", "00-11111111111111111111111111111111-00f067aa0ba902b7-01");
    assertThat(TraceParent.traceId(upstream.last().header("traceparent")))
        .isNotIn("4bf92f3577b34da6a3ce929d0e0e4736", "11111111111111111111111111111111");
    assertThat(upstream.last().count("traceparent")).isEqualTo(1);
  }

  @Test
  void aRetriedRequestKeepsItsTrace() {
    for (String traceparent : new String[] {VALID, null}) {
      int before = failing.requests();
      HttpResponse<String> r = traceparent == null ? proxy.get("/retried/x") : proxy.get("/retried/x", "traceparent", traceparent);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("good");
      assertThat(failing.requests()).as("the first attempt went to the failing target").isEqualTo(before + 1);
      String first = failing.last().header("traceparent");
      assertThat(TraceParent.traceId(first)).isNotNull();
      assertThat(good.last().header("traceparent")).isEqualTo(first);
      if (traceparent != null) {
        assertThat(first).isEqualTo(traceparent);
      }
    }
  }
}
