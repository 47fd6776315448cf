package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The order of a graceful stop, on a real node: {@code /ready} turns 503 first while the proxy still
 * serves, for the ready delay; then the node stops accepting, and requests in flight finish.
 */
class DrainSequenceTest {

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void readyTurns503FirstThenTheNodeStopsAcceptingAndRequestsInFlightFinish() throws Exception {
    try (TestUpstream up = TestUpstream.start("up", kit.system())) {
      ProxyFixture proxy = ProxyFixture.start("""
          upstreams:
            - name: app
              targets: [{url: %s}]
          routes:
            - name: app
              match: {paths: [/]}
              upstream: app
          """.formatted(up.url()), s -> s.withManagement(s.management().withReadyDelay(Duration.ofMillis(1500))));
      URI management = URI.create("http://127.0.0.1:" + proxy.node.managementAddress().getPort());
      assertThat(status(proxy, management.resolve("/alive"))).isEqualTo(200);
      GuardCluster.await(Duration.ofSeconds(10), "the node to be ready",
          () -> status(proxy, management.resolve("/ready")) == 200);

      // A slow request is in flight when the stop begins.
      up.answer(request -> CompletableFuture.supplyAsync(() -> up.ok(),
          CompletableFuture.delayedExecutor(2500, TimeUnit.MILLISECONDS)));
      CompletableFuture<HttpResponse<String>> slow = proxy.client.sendAsync(
          HttpRequest.newBuilder(proxy.uri("/slow")).timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString());
      GuardCluster.await(Duration.ofSeconds(5), "the slow request to reach the upstream", () -> up.requestsTo("/slow") == 1);
      CompletableFuture<Boolean> stopped = proxy.node.shutdown(Duration.ofSeconds(10)).toCompletableFuture();

      GuardCluster.await(Duration.ofSeconds(1), "/ready to answer 503",
          () -> status(proxy, management.resolve("/ready")) == 503);
      assertThat(stopped).isNotDone();
      // During the ready delay the node still serves new requests.
      up.answer(request -> CompletableFuture.completedFuture(up.ok()));
      HttpResponse<String> during = proxy.get("/during-delay");
      assertThat(during.statusCode()).isEqualTo(200);
      assertThat(during.headers().firstValue("connection")).as("keep-alive clients move to other nodes")
          .hasValue("close");

      assertThat(slow.get(10, TimeUnit.SECONDS).statusCode()).as("the request in flight finishes").isEqualTo(200);
      assertThat(stopped.get(30, TimeUnit.SECONDS)).as("nothing was cut off").isTrue();
      assertThat(slow.isDone()).isTrue();
    }
  }

  private static int status(ProxyFixture proxy, URI uri) {
    try {
      return proxy.client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode();
    } catch (java.io.IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
