package dev.tollgate.node.proxy;

import static dev.tollgate.node.proxy.ProxyProtocolHeaderTest.AUTHORITY_TLV;
import static dev.tollgate.node.proxy.ProxyProtocolHeaderTest.ascii;
import static dev.tollgate.node.proxy.ProxyProtocolHeaderTest.concat;
import static dev.tollgate.node.proxy.ProxyProtocolHeaderTest.tcp4;
import static dev.tollgate.node.proxy.ProxyProtocolHeaderTest.tcp6;
import static dev.tollgate.node.proxy.ProxyProtocolHeaderTest.v2;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.CidrRange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PROXY protocol v1 and v2 on a real node's proxy port, spoken over plain sockets. */
class ProxyProtocolThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static TestUpstream upstream;
  /** PROXY protocol on, trusting the defaults (loopback), header timeout 1 s. */
  static ProxyFixture proxy;
  /** PROXY protocol on, trusting only 10.0.0.0/8: the tests' 127.0.0.1 is refused. */
  static ProxyFixture refusing;

  static final String GET = "GET /app/who HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n";

  static String config(String url) {
    return """
        upstreams:
          - name: app
            targets: [{url: %s}]
        routes:
          - name: app
            match: {paths: [/app]}
            upstream: app
        """.formatted(url);
  }

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
    proxy = ProxyFixture.start(config(upstream.url()), s -> s.withProxy(s.proxy().withProxyProtocol(
        s.proxy().proxyProtocol().withEnabled(true).withHeaderTimeout(Duration.ofSeconds(1)))));
    refusing = ProxyFixture.start(config(upstream.url()), s -> s.withProxy(s.proxy().withProxyProtocol(
        s.proxy().proxyProtocol().withEnabled(true).withTrusted(List.of(CidrRange.parse("10.0.0.0/8"))))));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    refusing.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  /** Writes {@code bytes} in one write and reads until the server closes (or 5 s pass). */
  static String exchange(int port, byte[] bytes) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
      return RawHttp.readAll(socket, 5000);
    }
  }

  /** Whether the server closes {@code socket} within {@code millis}, having sent nothing. */
  static boolean closedWithoutAnswer(Socket socket, int millis) throws IOException {
    socket.setSoTimeout(millis);
    try {
      return socket.getInputStream().read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true; // reset
    }
  }

  String clientIpSeenFor(byte[] header) throws IOException {
    String raw = exchange(proxy.port(), concat(header, ascii(GET)));
    assertThat(RawHttp.status(raw)).as(raw).isEqualTo(200);
    return upstream.last().header("X-Forwarded-For");
  }

  @Test
  void v1Tcp4GivesTheClientIp() throws Exception {
    assertThat(clientIpSeenFor(ascii("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\n"))).isEqualTo("203.0.113.7");
    assertThat(upstream.last().header("Forwarded")).startsWith("for=203.0.113.7;");
  }

  @Test
  void v1Tcp6GivesTheClientIp() throws Exception {
    assertThat(clientIpSeenFor(ascii("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n")))
        .isEqualTo("2001:db8:0:0:0:0:0:7");
  }

  @Test
  void v2Tcp4WithATlvGivesTheClientIp() throws Exception {
    assertThat(clientIpSeenFor(v2(1, 0x11, tcp4(new int[] {198, 51, 100, 9}, new int[] {10, 0, 0, 1}, 40000, 443),
        AUTHORITY_TLV))).isEqualTo("198.51.100.9");
  }

  @Test
  void v2Tcp6WithATlvGivesTheClientIp() throws Exception {
    assertThat(clientIpSeenFor(v2(1, 0x21, tcp6("2001:db8::42", "2001:db8::1", 40000, 443), AUTHORITY_TLV)))
        .isEqualTo("2001:db8:0:0:0:0:0:42");
  }

  @Test
  void v2LocalAndV1UnknownUseTheRealPeer() throws Exception {
    assertThat(clientIpSeenFor(v2(0, 0x00, new byte[0], new byte[0]))).isEqualTo("127.0.0.1");
    assertThat(clientIpSeenFor(ascii("PROXY UNKNOWN\r\n"))).isEqualTo("127.0.0.1");
  }

  @Test
  void theHeaderMayComeInItsOwnWrites() throws Exception {
    byte[] header = ascii("PROXY TCP4 203.0.113.8 10.0.0.1 40000 443\r\n");
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.getOutputStream().write(header, 0, 9);
      socket.getOutputStream().flush();
      Thread.sleep(50); // a separate segment; not waiting for a state
      socket.getOutputStream().write(header, 9, header.length - 9);
      socket.getOutputStream().flush();
      Thread.sleep(50);
      socket.getOutputStream().write(ascii(GET));
      String raw = RawHttp.readAll(socket, 5000);
      assertThat(RawHttp.status(raw)).as(raw).isEqualTo(200);
    }
    assertThat(upstream.last().header("X-Forwarded-For")).isEqualTo("203.0.113.8");
  }

  @Test
  void keepAliveRequestsAllGetTheHeadersClientIp() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.getOutputStream().write(concat(ascii("PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\r\n"),
          ascii("GET /app/first HTTP/1.1\r\nHost: gw\r\n\r\n")));
      String first = readResponse(socket);
      assertThat(RawHttp.status(first)).as(first).isEqualTo(200);
      assertThat(upstream.last().uri()).isEqualTo("/app/first");
      assertThat(upstream.last().header("X-Forwarded-For")).isEqualTo("203.0.113.9");
      socket.getOutputStream().write(ascii("GET /app/second HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"));
      String second = RawHttp.readAll(socket, 5000);
      assertThat(RawHttp.status(second)).as(second).isEqualTo(200);
      assertThat(upstream.last().uri()).isEqualTo("/app/second");
      assertThat(upstream.last().header("X-Forwarded-For")).isEqualTo("203.0.113.9");
    }
  }

  /** Reads one response whose body is the upstream's name, "app". */
  static String readResponse(Socket socket) throws IOException {
    socket.setSoTimeout(5000);
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (!out.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\napp")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      out.write(b);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aConnectionWithoutAHeaderIsClosedWithoutAnAnswer() throws Exception {
    int before = upstream.requests();
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.getOutputStream().write(ascii(GET));
      assertThat(closedWithoutAnswer(socket, 5000)).isTrue();
    }
    assertThat(upstream.requests()).isEqualTo(before);
  }

  @Test
  void aMalformedHeaderIsClosedWithoutAnAnswer() throws Exception {
    for (byte[] bad : List.of(ascii("PROXY TCP4 203.0.113.7 10.0.0.1 040000 443\r\n"),
        ascii("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\n"),
        v2(2, 0x11, tcp4(new int[] {1, 2, 3, 4}, new int[] {5, 6, 7, 8}, 1, 2), new byte[0]))) {
      try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
        socket.getOutputStream().write(concat(bad, ascii(GET)));
        assertThat(closedWithoutAnswer(socket, 5000)).isTrue();
      }
    }
  }

  @Test
  void aPeerOutsideTrustedIsRefused() throws Exception {
    int before = upstream.requests();
    try (Socket socket = new Socket("127.0.0.1", refusing.port())) {
      assertThat(closedWithoutAnswer(socket, 5000)).isTrue();
    }
    String raw = exchange(refusing.port(), concat(ascii("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\n"), ascii(GET)));
    assertThat(raw).isEmpty();
    assertThat(upstream.requests()).isEqualTo(before);
  }

  @Test
  void anIdleConnectionIsClosedAfterTheHeaderTimeout() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      socket.getOutputStream().write(ascii("PROXY TCP4 203.0.113.7"));
      long start = System.nanoTime();
      assertThat(closedWithoutAnswer(socket, 10_000)).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }
    try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
      assertThat(closedWithoutAnswer(socket, 10_000)).as("nothing sent at all").isTrue();
    }
  }
}
