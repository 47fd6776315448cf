package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Limits and malformed requests: refused before the upstream is ever contacted. */
class ProxyLimitsTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static TestUpstream upstream;
  static ProxyFixture proxy;

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
    proxy = ProxyFixture.start("""
        upstreams:
          - name: app
            targets: [{url: %s}]
        routes:
          - name: small
            match: {paths: [/small]}
            max_body: 1KiB
            upstream: app
          - name: default
            match: {paths: [/]}
            upstream: app
        """.formatted(upstream.url()),
        s -> s.withProxy(s.proxy().withHeaderReadTimeout(Duration.ofMillis(500))));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  @Test
  void bodyOverTheRouteLimitGets413WithoutTouchingTheUpstream() {
    HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/small/too-big"))
        .POST(HttpRequest.BodyPublishers.ofString("x".repeat(2048))).build());
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(upstream.requestsTo("/small/too-big")).isZero();

    HttpResponse<String> fits = proxy.send(HttpRequest.newBuilder(proxy.uri("/small/upload"))
        .POST(HttpRequest.BodyPublishers.ofString("x".repeat(1000))).build());
    assertThat(fits.statusCode()).isEqualTo(200);
    assertThat(upstream.last().bodyBytes()).isEqualTo(1000);
  }

  @Test
  void chunkedBodyOverTheLimitGets413() throws Exception {
    String chunk = "x".repeat(800);
    String raw = RawHttp.exchange(proxy.port(), "POST /small/chunked HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
        + Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n"
        + Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n0\r\n\r\n", 2000);
    assertThat(RawHttp.status(raw)).isEqualTo(413);
  }

  @Test
  void headersOverTheLimitGet431() {
    HttpResponse<String> r = proxy.get("/big-headers", "X-Big-1", "a".repeat(8000), "X-Big-2", "b".repeat(8000),
        "X-Big-3", "c".repeat(8000), "X-Big-4", "d".repeat(8000), "X-Big-5", "e".repeat(2000));
    assertThat(r.statusCode()).isEqualTo(431);
    assertThat(r.body()).contains("headers-too-large");
    assertThat(upstream.requestsTo("/big-headers")).isZero();
  }

  @Test
  void singleHugeHeaderGets431FromTheParser() throws Exception {
    String raw = RawHttp.exchange(proxy.port(), "GET /huge-header HTTP/1.1\r\nHost: gw\r\nX-Huge: " + "h".repeat(40_000) + "\r\n\r\n", 2000);
    assertThat(RawHttp.status(raw)).isEqualTo(431);
    assertThat(raw).contains("application/problem+json");
    assertThat(upstream.requestsTo("/huge-header")).isZero();
  }

  @Test
  void uriOverTheLimitGets414() {
    HttpResponse<String> r = proxy.get("/long?q=" + "q".repeat(9000));
    assertThat(r.statusCode()).isEqualTo(414);
    assertThat(upstream.requestsTo("/long")).isZero();
  }

  @Test
  void slowHeadGets408AndTheConnectionCloses() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      OutputStream out = socket.getOutputStream();
      out.write("GET /slow HTTP/1.1\r\nHost: gw\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      // Never finish the head: the gateway must answer 408 and close, not wait forever.
      String raw = RawHttp.readAll(socket, 5000);
      assertThat(RawHttp.status(raw)).isEqualTo(408);
      assertThat(raw).contains("Connection: close", "request-timeout");
    }
    assertThat(upstream.requestsTo("/slow")).isZero();
  }

  @Test
  void aKeepAliveConnectionIdleBetweenRequestsIsNotTimedOutAsSlowloris() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      OutputStream out = socket.getOutputStream();
      out.write("GET /one HTTP/1.1\r\nHost: gw\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      socket.setSoTimeout(2000);
      byte[] buf = new byte[4096];
      int n = socket.getInputStream().read(buf);
      assertThat(new String(buf, 0, n, StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200");
      Thread.sleep(800); // idle longer than the head timeout between requests: allowed
      out.write("GET /two HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      assertThat(RawHttp.readAll(socket, 2000)).startsWith("HTTP/1.1 200");
    }
  }

  @Test
  void contentLengthWithTransferEncodingIsRefusedAndNeverForwarded() throws Exception {
    String raw = RawHttp.exchange(proxy.port(), "POST /smuggle-cl-te HTTP/1.1\r\nHost: gw\r\n"
        + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n", 2000);
    assertThat(RawHttp.status(raw)).isEqualTo(400);
    assertThat(raw).doesNotContain("HTTP/1.1 200");
    assertThat(upstream.requestsTo("/smuggle-cl-te") + upstream.requestsTo("/smuggled")).isZero();
  }

  @Test
  void conflictingContentLengthsAreRefusedAndNeverForwarded() throws Exception {
    String raw = RawHttp.exchange(proxy.port(), "POST /smuggle-cl-cl HTTP/1.1\r\nHost: gw\r\n"
        + "Content-Length: 5\r\nContent-Length: 40\r\n\r\n"
        + "hello" + "GET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n", 2000);
    assertThat(RawHttp.status(raw)).isEqualTo(400);
    assertThat(raw).doesNotContain("HTTP/1.1 200");
    assertThat(upstream.requestsTo("/smuggle-cl-cl") + upstream.requestsTo("/smuggled")).isZero();
  }

  @Test
  void obfuscatedTransferEncodingIsRefused() throws Exception {
    String raw = RawHttp.exchange(proxy.port(), "POST /smuggle-te HTTP/1.1\r\nHost: gw\r\n"
        + "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\nhello", 2000);
    assertThat(RawHttp.status(raw)).isBetween(400, 501);
    assertThat(upstream.requestsTo("/smuggle-te") + upstream.requestsTo("/smuggled")).isZero();
  }
}
