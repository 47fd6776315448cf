package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class ProxyProtocolDecoderTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static final Materializer mat = Materializer.matFromSystem(kit.system());
  static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.1", 5555);
  static final PeerWarnings warnings = new PeerWarnings(LoggerFactory.getLogger(ProxyProtocolDecoderTest.class),
      Duration.ofMinutes(1), System::nanoTime);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  record Run(CompletableFuture<ProxyProtocolHeader.Decoded> header, String passed) {}

  static Run run(List<ByteString> chunks) throws Exception {
    CompletableFuture<ProxyProtocolHeader.Decoded> header = new CompletableFuture<>();
    ByteString out = Source.from(chunks)
        .via(new ProxyProtocolDecoder(header, Duration.ofSeconds(5), PEER, warnings))
        .runWith(Sink.fold(ByteString.emptyByteString(), ByteString::concat), mat)
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    return new Run(header, out.decodeString(StandardCharsets.ISO_8859_1));
  }

  /** The bytes split in two at {@code at}, and again in three with a one-byte chunk there. */
  static List<List<ByteString>> splits(byte[] all, int at) {
    ByteString b = ByteString.fromArray(all);
    List<List<ByteString>> out = new ArrayList<>();
    out.add(List.of(b.take(at), b.drop(at)));
    if (at + 1 <= all.length) {
      out.add(List.of(b.take(at), b.slice(at, at + 1), b.drop(at + 1)));
    }
    return out;
  }

  @Test
  void passesTheBytesAfterTheHeaderWhereverTheChunksSplit() throws Exception {
    byte[] request = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    byte[][] headers = {
        ProxyProtocolHeaderTest.ascii("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\n"),
        ProxyProtocolHeaderTest.v2(1, 0x11, ProxyProtocolHeaderTest.tcp4(new int[] {203, 0, 113, 7},
            new int[] {10, 0, 0, 1}, 40000, 443), ProxyProtocolHeaderTest.AUTHORITY_TLV)};
    for (byte[] header : headers) {
      byte[] all = ProxyProtocolHeaderTest.concat(header, request);
      for (int at = 0; at <= all.length; at++) {
        for (List<ByteString> chunks : splits(all, at)) {
          Run r = run(chunks);
          assertThat(r.passed()).as("split at %d", at).isEqualTo(new String(request, StandardCharsets.ISO_8859_1));
          assertThat(r.header().get().source()).isEqualTo(new InetSocketAddress("203.0.113.7", 40000));
        }
      }
    }
  }

  @Test
  void aHeaderAloneCompletesWithNothingPassed() throws Exception {
    Run r = run(List.of(ByteString.fromString("PROXY UNKNOWN\r\n")));
    assertThat(r.passed()).isEmpty();
    assertThat(r.header().get().source()).isNull();
  }

  @Test
  void anInvalidHeaderPassesNothingAndFailsTheHeader() throws Exception {
    for (String bad : List.of("GET / HTTP/1.1\r\n\r\n", "PROXY TCP4 1.2.3.4\r\nGET / HTTP/1.1\r\n\r\n", "PROXY TCP4 1.2.3")) {
      Run r = run(List.of(ByteString.fromString(bad)));
      assertThat(r.passed()).as(bad).isEmpty();
      assertThat(r.header()).as(bad).isCompletedExceptionally();
    }
  }

  @Test
  void noHeaderWithinTheTimeoutCompletesTheStage() throws Exception {
    CompletableFuture<ProxyProtocolHeader.Decoded> header = new CompletableFuture<>();
    ByteString out = Source.single(ByteString.fromString("PROXY TCP4 "))
        .concat(Source.never())
        .via(new ProxyProtocolDecoder(header, Duration.ofMillis(200), PEER, warnings))
        .runWith(Sink.fold(ByteString.emptyByteString(), ByteString::concat), mat)
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(out.isEmpty()).isTrue();
    assertThat(header).isCompletedExceptionally();
  }

  @Test
  void warnsOncePerPeerPerInterval() {
    long[] now = {0};
    PeerWarnings w = new PeerWarnings(LoggerFactory.getLogger(ProxyProtocolDecoderTest.class), Duration.ofMinutes(1),
        () -> now[0]);
    java.net.InetAddress a = PEER.getAddress();
    java.net.InetAddress b = new InetSocketAddress("10.0.0.1", 1).getAddress();
    assertThat(w.shouldWarn(a)).isTrue();
    assertThat(w.shouldWarn(a)).isFalse();
    assertThat(w.shouldWarn(b)).isTrue();
    now[0] += Duration.ofSeconds(59).toNanos();
    assertThat(w.shouldWarn(a)).isFalse();
    now[0] += Duration.ofSeconds(1).toNanos();
    assertThat(w.shouldWarn(a)).isTrue();
  }
}
