package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.CidrRange;
import java.net.http.HttpResponse;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ProxyHeadersTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static TestUpstream upstream;
  static ProxyFixture proxy;
  static ProxyFixture trustingProxy;

  static String config(String url) {
    return """
        upstreams:
          - name: app
            targets: [{url: %s}]
          - name: preserving
            targets: [{url: %s}]
            host_header: preserve
          - name: fixed
            targets: [{url: %s}]
            host_header: internal.example
        routes:
          - name: app
            match: {paths: [/app]}
            strip_prefix: true
            upstream: app
          - name: preserving
            match: {paths: [/preserve]}
            upstream: preserving
          - name: fixed
            match: {paths: [/fixed]}
            upstream: fixed
          - name: rewritten
            match: {paths: [{regex: "^/v1/users/([0-9]+)$"}]}
            rewrite: {regex: "^/v1/users/([0-9]+)$", replacement: "/users?id=$1"}
            upstream: app
        """.formatted(url, url, url);
  }

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
    proxy = ProxyFixture.start(config(upstream.url()));
    trustingProxy = ProxyFixture.start(config(upstream.url()),
        s -> s.withProxy(s.proxy().withTrustedProxies(List.of(CidrRange.parse("127.0.0.0/8")))));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    trustingProxy.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  @Test
  void stripsThePrefixAndKeepsTheQuery() {
    HttpResponse<String> r = proxy.get("/app/a/b?x=1&y=2");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(upstream.last().uri()).isEqualTo("/a/b?x=1&y=2");
    proxy.get("/app?z=3");
    assertThat(upstream.last().uri()).isEqualTo("/?z=3");
  }

  @Test
  void rewritesThePathWithRegexGroups() {
    proxy.get("/v1/users/42");
    assertThat(upstream.last().uri()).isEqualTo("/users?id=42");
  }

  @Test
  void removesHopByHopHeadersIncludingThoseNamedByConnection() throws Exception {
    String raw = RawHttp.exchange(proxy.port(), "GET /app/hop HTTP/1.1\r\n"
        + "Host: gw.example\r\n"
        + "Connection: keep-alive, X-Secret-Hop\r\n"
        + "X-Secret-Hop: do-not-forward\r\n"
        + "Keep-Alive: timeout=5\r\n"
        + "TE: trailers\r\n"
        + "Trailer: X-Checksum\r\n"
        + "Upgrade: websocket\r\n"
        + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
        + "Proxy-Connection: keep-alive\r\n"
        + "X-End-To-End: kept\r\n"
        + "\r\n", 1000);
    assertThat(RawHttp.status(raw)).isEqualTo(200);
    TestUpstream.Seen seen = upstream.last();
    for (String hop : List.of("X-Secret-Hop", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization", "Proxy-Connection")) {
      assertThat(seen.header(hop)).as(hop).isNull();
    }
    assertThat(seen.header("Connection")).isNull();
    assertThat(seen.header("Timeout-Access")).isNull();
    assertThat(seen.header("X-End-To-End")).isEqualTo("kept");
  }

  @Test
  void removesHopByHopHeadersFromResponses() {
    upstream.answer(r -> java.util.concurrent.CompletableFuture.completedFuture(upstream.ok().addHeaders(List.of(
        org.apache.pekko.http.javadsl.model.headers.RawHeader.create("Keep-Alive", "timeout=5"),
        org.apache.pekko.http.javadsl.model.headers.RawHeader.create("Proxy-Authenticate", "Basic"),
        org.apache.pekko.http.javadsl.model.headers.RawHeader.create("X-App", "kept")))));
    try {
      HttpResponse<String> r = proxy.get("/app/x");
      assertThat(r.headers().firstValue("Keep-Alive")).isEmpty();
      assertThat(r.headers().firstValue("Proxy-Authenticate")).isEmpty();
      assertThat(r.headers().firstValue("X-App")).hasValue("kept");
    } finally {
      upstream.answer(r -> java.util.concurrent.CompletableFuture.completedFuture(upstream.ok()));
    }
  }

  @Test
  void setsForwardingHeadersAndReplacesSpoofedOnesFromUntrustedClients() {
    proxy.get("/app/who", "X-Forwarded-For", "6.6.6.6", "X-Forwarded-Proto", "https", "Forwarded", "for=6.6.6.6",
        "X-Forwarded-Host", "evil.example", "X-Forwarded-Port", "1");
    TestUpstream.Seen seen = upstream.last();
    assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
    assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("http");
    assertThat(seen.header("X-Forwarded-Host")).as(seen.headers().toString()).isEqualTo("127.0.0.1:" + proxy.port());
    assertThat(seen.header("X-Forwarded-Port")).isEqualTo(Integer.toString(proxy.port()));
    assertThat(seen.header("Forwarded")).isEqualTo("for=127.0.0.1;proto=http;host=\"127.0.0.1:" + proxy.port() + "\"");
    assertThat(seen.count("X-Forwarded-For")).isEqualTo(1);
  }

  @Test
  void extendsForwardingHeadersFromTrustedProxies() {
    trustingProxy.get("/app/who", "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https", "Forwarded", "for=203.0.113.7;proto=https");
    TestUpstream.Seen seen = upstream.last();
    assertThat(seen.header("X-Forwarded-For")).isEqualTo("203.0.113.7, 127.0.0.1");
    assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(seen.header("Forwarded")).startsWith("for=203.0.113.7;proto=https, for=127.0.0.1;proto=http");
  }

  @Test
  void generatesARequestIdOrKeepsAValidOne() {
    HttpResponse<String> generated = proxy.get("/app/id");
    String id = generated.headers().firstValue("X-Request-Id").orElseThrow();
    assertThat(id).matches("[0-9a-f]{32}");
    assertThat(upstream.last().header("X-Request-Id")).isEqualTo(id);

    HttpResponse<String> kept = proxy.get("/app/id", "X-Request-Id", "client-id-123");
    assertThat(kept.headers().firstValue("X-Request-Id")).hasValue("client-id-123");
    assertThat(upstream.last().header("X-Request-Id")).isEqualTo("client-id-123");

    HttpResponse<String> invalid = proxy.get("/app/id", "X-Request-Id", "bad id with spaces");
    assertThat(invalid.headers().firstValue("X-Request-Id").orElseThrow()).matches("[0-9a-f]{32}");
  }

  @Test
  void setsHostPerUpstreamSetting() {
    proxy.get("/app/h", "X-Ignored", "1");
    assertThat(upstream.last().header("Host")).isEqualTo("127.0.0.1:" + upstream.port());
    proxy.get("/preserve/h");
    assertThat(upstream.last().header("Host")).isEqualTo("127.0.0.1:" + proxy.port());
    proxy.get("/fixed/h");
    assertThat(upstream.last().header("Host")).isEqualTo("internal.example");
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    upstream.answer(r -> java.util.concurrent.CompletableFuture.completedFuture(
        org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("path=" + r.getUri().path())));
    try {
      String raw = RawHttp.exchange(proxy.port(), "GET /app/first HTTP/1.1\r\nHost: gw\r\n\r\n"
          + "GET /app/second HTTP/1.1\r\nHost: gw\r\n\r\n"
          + "GET /app/third HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", 3000);
      assertThat(raw.split("HTTP/1.1 200 OK", -1)).hasSize(4);
      assertThat(raw.indexOf("path=/first")).isPositive()
          .isLessThan(raw.indexOf("path=/second"))
          .isLessThan(raw.indexOf("path=/third"));
      assertThat(raw.indexOf("path=/second")).isLessThan(raw.indexOf("path=/third"));
    } finally {
      upstream.answer(r -> java.util.concurrent.CompletableFuture.completedFuture(upstream.ok()));
    }
  }

  @Test
  void unknownPathGets404ProblemJsonWithTheRequestId() {
    HttpResponse<String> r = proxy.get("/nowhere", "X-Request-Id", "rid-404");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(r.body()).contains("\"status\":404", "\"request_id\":\"rid-404\"", "\"type\":\"urn:tollgate:problem:no-route\"");
    assertThat(r.headers().firstValue("X-Request-Id")).hasValue("rid-404");
  }
}
