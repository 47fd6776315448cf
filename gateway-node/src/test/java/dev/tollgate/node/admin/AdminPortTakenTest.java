package dev.tollgate.node.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/** A node whose admin port is taken still starts and proxies, without an admin API. */
class AdminPortTakenTest {

  @Test
  void aTakenAdminPortLeavesTheNodeProxyingWithoutAnAdminApi() throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    RecordingUpstream upstream = new RecordingUpstream(kit.system());
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        AdminNode node = AdminNode.start("""
            upstreams:
              - name: app
                targets: [{url: "%s"}]
            routes:
              - name: open
                match: {paths: [/open]}
                upstream: app
            """.formatted(upstream.url()), s -> s.withAdmin(s.admin().withPort(taken.getLocalPort())))) {
      assertThat(node.node.adminAddress()).isEmpty();
      var anonymous = AdminNode.send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + node.node.proxyAddress().getPort() + "/open")).GET().build());
      assertThat(anonymous.statusCode()).isEqualTo(200);
      assertThat(upstream.requests()).isEqualTo(1);
    } finally {
      upstream.close();
      kit.shutdownTestKit();
    }
  }
}
