package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} of a real node after real requests: each figure the README lists, under its
 * Prometheus name and labels. Kamon's registry is one per JVM, so the routes and upstreams here
 * have names no other test uses, and the counts are exact.
 */
class MetricsThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static TestUpstream upstream;
  static ProxyFixture node;

  @BeforeAll
  static void start() throws Exception {
    upstream = TestUpstream.start("metered", kit.system());
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    node = ProxyFixture.start("""
        upstreams:
          - name: metered-app
            targets: [{url: %s}]
          - name: metered-gone
            targets: [{url: http://127.0.0.1:%d}]
            retries: {max: 0}
        routes:
          - name: metered
            match: {paths: [/metered]}
            upstream: metered-app
          - name: metered-limited
            match: {paths: [/limited]}
            upstream: metered-app
            rate_limit:
              by: client_ip
              limits: [{requests: 2, per: hour}]
          - name: metered-gone
            match: {paths: [/gone]}
            upstream: metered-gone
        """.formatted(upstream.url(), closed), s -> s.withMetrics(s.metrics().withInterval(Duration.ofMillis(200))));
  }

  @AfterAll
  static void stop() {
    node.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  static String scrape() {
    InetSocketAddress at = node.node.metricsAddress().orElseThrow();
    HttpResponse<String> r = node.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + at.getPort() + "/metrics")).timeout(Duration.ofSeconds(10)).build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
    return r.body();
  }

  private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** A series as {@code name{a="1",b="2"}} with its labels sorted, as Kamon writes them in any order. */
  static String canonical(String series) {
    int brace = series.indexOf('{');
    if (brace < 0) {
      return series;
    }
    java.util.TreeMap<String, String> labels = new java.util.TreeMap<>();
    Matcher m = LABEL.matcher(series.substring(brace));
    while (m.find()) {
      labels.put(m.group(1), m.group(2));
    }
    StringBuilder b = new StringBuilder(series.substring(0, brace)).append('{');
    labels.forEach((k, v) -> b.append(k).append("=\"").append(v).append("\","));
    return b.append('}').toString();
  }

  /** The value of the one sample whose name and labels are exactly these, or NaN when there is none. */
  static double sample(String text, String series) {
    String wanted = canonical(series);
    for (String line : text.split("\n")) {
      int space = line.lastIndexOf(' ');
      if (!line.startsWith("#") && space > 0 && canonical(line.substring(0, space)).equals(wanted)) {
        return Double.parseDouble(line.substring(space + 1));
      }
    }
    return Double.NaN;
  }

  @Test
  void requestsUpstreamsDecisionsAndNodeStateAreServedInPrometheusFormat() {
    for (int i = 0; i < 3; i++) {
      assertThat(node.get("/metered/a").statusCode()).isEqualTo(200);
    }
    HttpResponse<String> posted = node.send(HttpRequest.newBuilder(node.uri("/metered/upload"))
        .POST(HttpRequest.BodyPublishers.ofString("x".repeat(1000))).timeout(Duration.ofSeconds(10)).build());
    assertThat(posted.statusCode()).isEqualTo(200);
    assertThat(node.get("/nowhere").statusCode()).isEqualTo(404);
    assertThat(node.get("/limited").statusCode()).isEqualTo(200);
    assertThat(node.get("/limited").statusCode()).isEqualTo(200);
    assertThat(node.get("/limited").statusCode()).isEqualTo(429);
    assertThat(node.get("/gone").statusCode()).isEqualTo(502);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      String text = scrape();
      assertThat(sample(text, "tollgate_requests_total{route=\"metered\",status_class=\"2xx\"}")).isEqualTo(4);
      assertThat(sample(text, "tollgate_requests_total{route=\"metered-limited\",status_class=\"2xx\"}")).isEqualTo(2);
      assertThat(sample(text, "tollgate_requests_total{route=\"metered-limited\",status_class=\"4xx\"}")).isEqualTo(1);
      assertThat(sample(text, "tollgate_requests_total{route=\"metered-gone\",status_class=\"5xx\"}")).isEqualTo(1);
      assertThat(sample(text, "tollgate_requests_total{route=\"\",status_class=\"4xx\"}")).isGreaterThanOrEqualTo(1);
      assertThat(sample(text, "tollgate_request_duration_seconds_count{route=\"metered\",status_class=\"2xx\"}")).isEqualTo(4);
      assertThat(sample(text, "tollgate_request_duration_seconds_bucket{route=\"metered\",status_class=\"2xx\",le=\"+Inf\"}"))
          .isEqualTo(4);
      assertThat(sample(text, "tollgate_request_body_bytes_total{route=\"metered\"}")).isEqualTo(1000);
      // The test upstream answers with its name, "metered": 7 bytes, four times.
      assertThat(sample(text, "tollgate_response_body_bytes_total{route=\"metered\"}")).isEqualTo(28);
      assertThat(sample(text, "tollgate_upstream_duration_seconds_count{upstream=\"metered-app\",status_class=\"2xx\"}"))
          .isEqualTo(6);
      assertThat(sample(text, "tollgate_upstream_failures_total{upstream=\"metered-gone\",reason=\"connect\"}")).isEqualTo(1);
      assertThat(sample(text, "tollgate_upstream_failures_total{upstream=\"metered-gone\",reason=\"timeout\"}")).isEqualTo(0);
      assertThat(sample(text, "tollgate_ratelimit_decisions_total{decision=\"admitted\",path=\"local\"}")
          + sample(text, "tollgate_ratelimit_decisions_total{decision=\"admitted\",path=\"remote\"}")).isGreaterThanOrEqualTo(2);
      assertThat(sample(text, "tollgate_ratelimit_decisions_total{decision=\"limited\",path=\"local\"}")
          + sample(text, "tollgate_ratelimit_decisions_total{decision=\"limited\",path=\"remote\"}")).isGreaterThanOrEqualTo(1);
      assertThat(sample(text, "tollgate_config_version")).isEqualTo(0);
      assertThat(sample(text, "tollgate_cluster_members{status=\"up\"}")).isGreaterThanOrEqualTo(1);
      assertThat(sample(text, "tollgate_cluster_unreachable_members")).isEqualTo(0);
      assertThat(text).containsPattern("tollgate_cluster_shards\\{entity_type=\"[^\"]+\"} [1-9]");
      assertThat(sample(text, "tollgate_upstream_target_health{upstream=\"metered-app\",target=\"" + upstream.address().getHostString()
          + ":" + upstream.port() + "\",state=\"unprobed\"}")).isEqualTo(1);
      assertThat(sample(text, "tollgate_upstream_target_breaker{upstream=\"metered-app\",target=\"" + upstream.address().getHostString()
          + ":" + upstream.port() + "\",state=\"closed\"}")).isEqualTo(1);
      assertThat(sample(text, "tollgate_quota_lease_grants_total")).isGreaterThanOrEqualTo(1);
      assertThat(sample(text, "tollgate_quota_lease_tokens_total")).isGreaterThanOrEqualTo(2);
      assertThat(sample(text, "tollgate_access_log_dropped_total")).isEqualTo(0);
      assertThat(sample(text, "tollgate_requests_in_flight")).isEqualTo(0);
      assertThat(sample(text, "tollgate_directory_near_cache_entries{map=\"api_keys\"}")).isEqualTo(0);
      assertThat(text).contains("jvm_memory_used_bytes_sum{").contains("jvm_gc_seconds_count{").contains("jvm_threads_total");
      assertThat(text).doesNotContain("acme").doesNotContain("consumer=");
    });
  }

  @Test
  void otherPathsAndMethodsOfTheMetricsPortAreRefused() {
    InetSocketAddress at = node.node.metricsAddress().orElseThrow();
    HttpResponse<String> other = node.get("/x");
    assertThat(other.statusCode()).isEqualTo(404);
    HttpResponse<String> wrongPath = node.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + at.getPort() + "/stats")).build());
    assertThat(wrongPath.statusCode()).isEqualTo(404);
    HttpResponse<String> post = node.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + at.getPort() + "/metrics"))
        .POST(HttpRequest.BodyPublishers.noBody()).build());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
  }

  @Test
  void aNodeWithMetricsOffServesNoMetrics() {
    try (ProxyFixture off = ProxyFixture.start("""
        upstreams:
          - name: quiet
            targets: [{url: %s}]
        routes:
          - name: quiet
            match: {paths: [/quiet]}
            upstream: quiet
        """.formatted(upstream.url()), s -> s.withMetrics(s.metrics().withEnabled(false)))) {
      assertThat(off.get("/quiet").statusCode()).isEqualTo(200);
      assertThat(off.node.metricsAddress()).isEmpty();
    }
  }
}
