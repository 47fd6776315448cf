package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Distribution over real targets, measured by what the targets receive. */
class BalancingThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  Map<String, Integer> spread(ProxyFixture proxy, int requests) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < requests; i++) {
      HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(200);
      counts.merge(r.body(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void roundRobinAndWeightedSpreadTenThousandRequests() {
    try (TestUpstream a = TestUpstream.start("a", kit.system());
        TestUpstream b = TestUpstream.start("b", kit.system());
        TestUpstream c = TestUpstream.start("c", kit.system());
        ProxyFixture rr = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: %s}, {url: %s}, {url: %s}]
                balancer: round-robin
            routes:
              - {name: app, match: {paths: [/]}, upstream: app}
            """.formatted(a.url(), b.url(), c.url()));
        ProxyFixture weighted = ProxyFixture.start("""
            upstreams:
              - name: app
                targets: [{url: %s, weight: 1}, {url: %s, weight: 3}, {url: %s, weight: 6}]
                balancer: weighted
            routes:
              - {name: app, match: {paths: [/]}, upstream: app}
            """.formatted(a.url(), b.url(), c.url()))) {
      Map<String, Integer> even = spread(rr, 10_000);
      for (String t : new String[] {"a", "b", "c"}) {
        assertThat(even.get(t) / 10_000.0).as(t).isCloseTo(1 / 3.0, within(0.01));
      }
      Map<String, Integer> skewed = spread(weighted, 10_000);
      assertThat(skewed.get("a") / 10_000.0).isCloseTo(0.1, within(0.01));
      assertThat(skewed.get("b") / 10_000.0).isCloseTo(0.3, within(0.01));
      assertThat(skewed.get("c") / 10_000.0).isCloseTo(0.6, within(0.01));
    }
  }
}
