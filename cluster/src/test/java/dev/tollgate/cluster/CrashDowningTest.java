package dev.tollgate.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/** What a probe of a member's remoting port tells, against real sockets on loopback. */
class CrashDowningTest {

  static final Executor RESOLVER = ForkJoinPool.commonPool();
  static final Duration TIMEOUT = Duration.ofSeconds(1);

  static CrashDowning.Probe probe(String host, int port) {
    return CrashDowning.probe(host, port, TIMEOUT, RESOLVER).toCompletableFuture().join();
  }

  @Test
  void aPortWithNothingBehindItRefuses() throws Exception {
    int port;
    try (ServerSocket gone = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      port = gone.getLocalPort();
    }
    assertThat(probe("127.0.0.1", port)).isEqualTo(CrashDowning.Probe.REFUSED);
  }

  @Test
  void aListeningPortAccepts() throws Exception {
    // Never accept()ed: the kernel completes the connect from its backlog, as for a paused process.
    try (ServerSocket listening = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      assertThat(probe("127.0.0.1", listening.getLocalPort())).isEqualTo(CrashDowning.Probe.ACCEPTED);
    }
  }

  @Test
  void aNameThatDoesNotResolveIsNoVerdict() {
    assertThat(probe("tollgate-member.invalid", 25520)).isEqualTo(CrashDowning.Probe.NO_ANSWER);
  }
}
