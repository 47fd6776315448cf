package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.CidrRange;
import dev.tollgate.config.ConfigLoader;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Identity and limits on one real node, seen from a real client: API keys, the anonymous plan per
 * client IP, a route's own limits, token buckets, the rate-limit headers and the refusals.
 */
class QuotaThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static TestUpstream upstream;
  static ProxyFixture proxy;

  static String config(String url, boolean legacy, long goldPerHour) {
    return """
        upstreams:
          - name: app
            targets: [{url: %s}]
        plans:
          - name: gold
            limits:
              - {requests: %d, per: hour}
          - name: bursty
            limits:
              - {requests: 2, per: 1s, burst: 5}
          - name: free
            limits:
              - {requests: 3, per: day}
        consumers:
          - {id: acme, plan: gold, api_keys: [{key: acme-key-0123456789}]}
          - {id: zed, plan: gold, api_keys: [{key: zed-key-0123456789}]}
          - {id: burst, plan: bursty, api_keys: [{key: burst-key-0123456789}]}
          - {id: unlimited, api_keys: [{key: unlimited-key-0123456789}]}
        anonymous:
          plan: free
        rate_limit_headers:
          legacy: %s
        routes:
          - name: app
            match: {paths: [/app]}
            upstream: app
          - name: search
            match: {paths: [/search]}
            upstream: app
            rate_limit:
              by: client_ip
              limits: [{requests: 2, per: hour}]
          - name: orders
            match: {paths: [/orders]}
            upstream: app
            rate_limit:
              by: consumer
              limits: [{requests: 2, per: hour}]
        """.formatted(url, goldPerHour, legacy);
  }

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
    proxy = ProxyFixture.start(config(upstream.url(), false, 5),
        s -> s.withProxy(s.proxy().withTrustedProxies(List.of(CidrRange.parse("127.0.0.0/8")))));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  static long param(String header, String name) {
    Matcher m = Pattern.compile(";" + name + "=([0-9]+)").matcher(header);
    assertThat(m.find()).as(header).isTrue();
    return Long.parseLong(m.group(1));
  }

  @Test
  void aConsumerSpendsItsPlanThenGets429WithRetryAfterAndAProblem() {
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = proxy.get("/app/x", "X-Api-Key", "acme-key-0123456789");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("\"gold-hour\";q=5;w=3600");
      String state = r.headers().firstValue("RateLimit").orElseThrow();
      assertThat(state).startsWith("\"gold-hour\";r=");
      assertThat(param(state, "r")).isEqualTo(4 - i);
      assertThat(param(state, "t")).isBetween(1L, 3600L);
      assertThat(r.headers().firstValue("X-RateLimit-Limit")).as("legacy headers are off").isEmpty();
    }
    HttpResponse<String> refused = proxy.get("/app/x", "X-Api-Key", "acme-key-0123456789");
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(refused.body()).contains("\"type\":\"urn:tollgate:problem:rate-limited\"", "\"status\":429", "gold-hour");
    assertThat(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 3600L);
    assertThat(refused.headers().firstValue("RateLimit").orElseThrow()).startsWith("\"gold-hour\";r=0;t=");
    assertThat(refused.headers().firstValue("X-Request-Id")).isPresent();

    // Another consumer on the same plan has a budget of its own.
    assertThat(proxy.get("/app/x", "X-Api-Key", "zed-key-0123456789").statusCode()).isEqualTo(200);
  }

  @Test
  void aWrongKeyGets401AndTheKeyNeverReachesTheUpstream() {
    HttpResponse<String> wrong = proxy.get("/app/x", "X-Api-Key", "not-a-key-of-anyone");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.headers().firstValue("WWW-Authenticate")).hasValue("ApiKey header=\"X-Api-Key\"");
    assertThat(wrong.body()).contains("urn:tollgate:problem:unauthorized").doesNotContain("not-a-key-of-anyone");

    assertThat(proxy.get("/app/y", "X-Api-Key", "unlimited-key-0123456789").statusCode()).isEqualTo(200);
    assertThat(upstream.last().uri()).isEqualTo("/app/y");
    assertThat(upstream.last().headers()).noneMatch(h -> h.name().equalsIgnoreCase("X-Api-Key"));
  }

  @Test
  void aConsumerWithoutAPlanMeetsNoLimitAndGetsNoRateLimitHeaders() {
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = proxy.get("/app/z", "X-Api-Key", "unlimited-key-0123456789");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("RateLimit")).isEmpty();
    }
  }

  @Test
  void anonymousCallersAreCountedPerClientAddress() {
    for (int i = 0; i < 3; i++) {
      assertThat(proxy.get("/app/a", "X-Forwarded-For", "203.0.113.7").statusCode()).isEqualTo(200);
    }
    HttpResponse<String> refused = proxy.get("/app/a", "X-Forwarded-For", "203.0.113.7");
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("RateLimit-Policy")).hasValue("\"free-day\";q=3;w=86400");
    assertThat(proxy.get("/app/a", "X-Forwarded-For", "203.0.113.8").statusCode()).isEqualTo(200);
  }

  @Test
  void aRoutesOwnLimitCountsPerClientIpOnTopOfThePlan() {
    String ip = "198.51.100.20";
    long localShareBefore = proxy.node.quota().stats().localShare();
    HttpResponse<String> first = proxy.get("/search", "X-Forwarded-For", ip, "X-Api-Key", "unlimited-key-0123456789");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("RateLimit-Policy")).hasValue("\"search-hour\";q=2;w=3600");
    assertThat(proxy.get("/search", "X-Forwarded-For", ip, "X-Api-Key", "unlimited-key-0123456789").statusCode())
        .isEqualTo(200);
    assertThat(proxy.get("/search", "X-Forwarded-For", ip, "X-Api-Key", "unlimited-key-0123456789").statusCode())
        .isEqualTo(429);
    // Other routes are not limited for this caller; another address starts afresh on this one.
    assertThat(proxy.get("/app/s", "X-Forwarded-For", ip, "X-Api-Key", "unlimited-key-0123456789").statusCode())
        .isEqualTo(200);
    assertThat(proxy.get("/search", "X-Forwarded-For", "198.51.100.21", "X-Api-Key", "unlimited-key-0123456789")
        .statusCode()).isEqualTo(200);
    // Counted by the route's own entity, not by a node's share while the entity is unreachable
    // (which, on one node, would admit just as much).
    assertThat(proxy.node.quota().stats().localShare()).isEqualTo(localShareBefore);
  }

  @Test
  void aRoutesOwnLimitByConsumerCountsEachConsumerOnItsOwn() {
    long localShareBefore = proxy.node.quota().stats().localShare();
    for (int i = 0; i < 2; i++) {
      HttpResponse<String> r = proxy.get("/orders", "X-Api-Key", "unlimited-key-0123456789");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("\"orders-hour\";q=2;w=3600");
    }
    HttpResponse<String> refused = proxy.get("/orders", "X-Api-Key", "unlimited-key-0123456789",
        "X-Forwarded-For", "198.51.100.30");
    assertThat(refused.statusCode()).as("from another address, the same consumer").isEqualTo(429);
    assertThat(refused.headers().firstValue("RateLimit").orElseThrow()).startsWith("\"orders-hour\";r=0;t=");
    assertThat(proxy.get("/orders", "X-Api-Key", "zed-key-0123456789").statusCode()).isEqualTo(200);
    assertThat(proxy.node.quota().stats().localShare()).isEqualTo(localShareBefore);
  }

  @Test
  void aBucketAllowsItsBurstThenRefillsAtItsRate() throws Exception {
    int admitted = 0;
    for (int i = 0; i < 12; i++) {
      admitted += proxy.get("/app/b", "X-Api-Key", "burst-key-0123456789").statusCode() == 200 ? 1 : 0;
    }
    // The burst of 5, and what refilled at 2 per second while the requests ran.
    assertThat(admitted).isBetween(5, 7);
    HttpResponse<String> refused = proxy.get("/app/b", "X-Api-Key", "burst-key-0123456789");
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("RateLimit-Policy")).hasValue("\"bursty-1s-bucket\";q=2;w=1");
    Thread.sleep(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow()) * 1000 + 600);
    assertThat(proxy.get("/app/b", "X-Api-Key", "burst-key-0123456789").statusCode()).isEqualTo(200);
  }

  @Test
  void raisingAPlansLimitKeepsWhatWasSpentAndLegacyHeadersCanBeSwitchedOn() throws Exception {
    try (ProxyFixture node = ProxyFixture.start(config(upstream.url(), false, 2))) {
      assertThat(node.get("/app/x", "X-Api-Key", "zed-key-0123456789").statusCode()).isEqualTo(200);
      assertThat(node.get("/app/x", "X-Api-Key", "zed-key-0123456789").statusCode()).isEqualTo(200);
      assertThat(node.get("/app/x", "X-Api-Key", "zed-key-0123456789").statusCode()).isEqualTo(429);

      node.node.apply(ConfigLoader.parse(config(upstream.url(), true, 3), "raised"));
      HttpResponse<String> third = node.get("/app/x", "X-Api-Key", "zed-key-0123456789");
      assertThat(third.statusCode()).as("one more than the 2 already spent").isEqualTo(200);
      assertThat(third.headers().firstValue("X-RateLimit-Limit")).hasValue("3");
      assertThat(third.headers().firstValue("X-RateLimit-Remaining")).hasValue("0");
      assertThat(Long.parseLong(third.headers().firstValue("X-RateLimit-Reset").orElseThrow())).isBetween(1L, 3600L);
      assertThat(node.get("/app/x", "X-Api-Key", "zed-key-0123456789").statusCode()).isEqualTo(429);
    }
  }
}
