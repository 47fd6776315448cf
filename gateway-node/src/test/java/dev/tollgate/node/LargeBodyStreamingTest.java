package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bodies stream through a node with backpressure: 1 GiB each way through a node whose JVM has a
 * 256 MiB heap, which would fail at once if either body were buffered.
 */
class LargeBodyStreamingTest {

  static final long GIB = 1L << 30;
  static final int CHUNK = 64 * 1024;
  static final ActorTestKit kit = ActorTestKit.create();
  static ServerBinding upstream;

  @BeforeAll
  static void startUpstream() {
    Materializer mat = Materializer.matFromSystem(kit.system());
    ByteString chunk = ByteString.fromArray(new byte[CHUNK]);
    upstream = Http.get(kit.system()).newServerAt("127.0.0.1", 0)
        .bind((Function<org.apache.pekko.http.javadsl.model.HttpRequest, CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse>>) request -> {
          if (request.getUri().path().equals("/download")) {
            request.discardEntityBytes(mat);
            return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create()
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, GIB,
                    Source.repeat(chunk).take(GIB / CHUNK))));
          }
          return request.entity().withoutSizeLimit().getDataBytes().runWith(Sink.fold(0L, (n, b) -> n + b.length()), mat)
              .thenApply(n -> org.apache.pekko.http.javadsl.model.HttpResponse.create()
                  .withEntity(ContentTypes.TEXT_PLAIN_UTF8, Long.toString(n)));
        })
        .toCompletableFuture().join();
  }

  @AfterAll
  static void stop() {
    upstream.unbind().toCompletableFuture().join();
    kit.shutdownTestKit();
  }

  @Test
  void oneGibibyteEachWayThroughANodeWith256MiBOfHeap(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("stream.yaml");
    Files.writeString(config, """
        upstreams:
          - name: bulk
            targets: [{url: "http://127.0.0.1:%d"}]
            timeouts: {response: 2m}
        routes:
          - name: bulk
            match: {paths: [/]}
            max_body: 2GiB
            upstream: bulk
        """.formatted(upstream.localAddress().getPort()));
    try (NodeProcess node = NodeProcess.start(
        List.of("-Xmx256m", "-Dtollgate.proxy.port=0", "-Dtollgate.proxy.host=127.0.0.1", "-Dtollgate.cluster.port=0"),
        "run", "--config", config.toString())) {
      int port = node.awaitPort();
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

      HttpResponse<InputStream> download = client.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/download")).timeout(Duration.ofMinutes(3)).build(),
          HttpResponse.BodyHandlers.ofInputStream());
      assertThat(download.statusCode()).as(node.log()).isEqualTo(200);
      long received = 0;
      byte[] buf = new byte[CHUNK];
      try (InputStream in = download.body()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          received += n;
        }
      }
      assertThat(received).isEqualTo(GIB);

      HttpResponse<String> upload = client.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/upload")).timeout(Duration.ofMinutes(3))
              .POST(HttpRequest.BodyPublishers.fromPublisher(
                  HttpRequest.BodyPublishers.ofInputStream(() -> new ZeroStream(GIB)), GIB))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(upload.statusCode()).as(node.log()).isEqualTo(200);
      assertThat(upload.body()).isEqualTo(Long.toString(GIB));
      assertThat(node.process.isAlive()).as("node survived:\n%s", node.log()).isTrue();
      assertThat(node.log()).doesNotContain("OutOfMemoryError");
    }
  }

  /** {@code size} zero bytes, made on the fly. */
  static final class ZeroStream extends InputStream {
    private long left;

    ZeroStream(long size) {
      this.left = size;
    }

    @Override
    public int read() {
      if (left == 0) {
        return -1;
      }
      left--;
      return 0;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left == 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      java.util.Arrays.fill(b, off, off + n, (byte) 0);
      left -= n;
      return n;
    }
  }
}
