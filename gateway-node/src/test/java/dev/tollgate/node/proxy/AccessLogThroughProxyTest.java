package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.config.NodeSettings;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The access log of a real node, written to a real file, for requests from a real client. */
class AccessLogThroughProxyTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static final ObjectMapper JSON = new ObjectMapper();
  static final String KEY = "acme-key-0123456789";
  static TestUpstream upstream;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    upstream = TestUpstream.start("app", kit.system());
  }

  @AfterAll
  static void stop() {
    upstream.close();
    kit.shutdownTestKit();
  }

  static String config() {
    return """
        upstreams:
          - name: app
            targets: [{url: %s}]
        consumers:
          - {id: acme, api_keys: [{key: %s}]}
        routes:
          - name: app
            match: {paths: [/app]}
            upstream: app
          - name: keyed
            match: {paths: [/keyed]}
            upstream: app
            auth:
              accept: [api_key]
        """.formatted(upstream.url(), KEY);
  }

  ProxyFixture node(Path log, UnaryOperator<NodeSettings.AccessLog> adjust) {
    return ProxyFixture.start(config(), s -> s.withAccessLog(adjust.apply(s.accessLog().withDestination(log.toString()))));
  }

  static List<String> lines(Path file, int atLeast) {
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(file) && Files.readAllLines(file).size() >= atLeast);
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void logsOneJsonLinePerRequestWithItsFields() throws Exception {
    Path log = dir.resolve("access.log");
    byte[] streamed = new byte[300_000];
    upstream.answer(r -> CompletableFuture.completedFuture(upstream.ok().withEntity(HttpEntities.createChunked(
        ContentTypes.APPLICATION_OCTET_STREAM, Source.from(List.of(ByteString.fromArray(streamed, 0, 100_000),
            ByteString.fromArray(streamed, 100_000, 200_000)))))));
    Instant before = Instant.now().minusMillis(1);
    try (ProxyFixture proxy = node(log, a -> a)) {
      HttpResponse<String> ok = proxy.send(HttpRequest.newBuilder(proxy.uri("/app/items?secret=1"))
          .header("traceparent", TraceContextThroughProxyTest.VALID)
          .POST(HttpRequest.BodyPublishers.ofString("x".repeat(1234))).build());
      assertThat(ok.statusCode()).isEqualTo(200);
      String okId = ok.headers().firstValue("X-Request-Id").orElseThrow();
      HttpResponse<String> missing = proxy.get("/nowhere");
      assertThat(missing.statusCode()).isEqualTo(404);
      upstream.answer(r -> CompletableFuture.completedFuture(upstream.ok()));
      HttpResponse<String> keyed = proxy.get("/keyed/a", "X-Api-Key", KEY);
      assertThat(keyed.statusCode()).isEqualTo(200);
      HttpResponse<String> refused = proxy.get("/keyed/a");
      assertThat(refused.statusCode()).isEqualTo(401);

      List<String> lines = lines(log, 4);
      assertThat(lines).hasSize(4);
      // A streamed response's line is written when its body has been sent, which may be just after
      // the next request's: lines are found by request id, not by position.
      java.util.Map<String, JsonNode> byId = new java.util.HashMap<>();
      lines.forEach(line -> byId.put(json(line).get("request_id").asText(), json(line)));
      JsonNode a = byId.get(okId);
      assertThat(a).as("the line of request %s in %s", okId, lines).isNotNull();
      assertThat(a.get("request_id").asText()).isEqualTo(okId);
      assertThat(a.get("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(a.get("method").asText()).isEqualTo("POST");
      assertThat(a.get("path").asText()).as("no query by default").isEqualTo("/app/items");
      assertThat(a.get("route").asText()).isEqualTo("app");
      assertThat(a.get("consumer").isNull()).isTrue();
      assertThat(a.get("client_ip").asText()).isEqualTo("127.0.0.1");
      assertThat(a.get("status").asInt()).isEqualTo(200);
      assertThat(a.get("bytes_in").asLong()).isEqualTo(1234);
      assertThat(a.get("bytes_out").asLong()).as("a streamed body, counted as it was sent").isEqualTo(300_000);
      assertThat(a.get("upstream").asText()).isEqualTo("127.0.0.1:" + upstream.port());
      assertThat(a.get("attempts").asInt()).isEqualTo(1);
      assertThat(a.get("upstream_ms").isNumber()).isTrue();
      assertThat(a.get("duration_ms").asDouble()).isGreaterThanOrEqualTo(a.get("upstream_ms").asDouble());
      Instant time = Instant.parse(a.get("time").asText());
      assertThat(time).isAfter(before).isBefore(Instant.now());
      assertThat(a.get("time").asText()).endsWith("Z");
      assertThat(a.fieldNames()).toIterable().containsExactly("time", "request_id", "trace_id", "method", "path", "route",
          "consumer", "client_ip", "status", "bytes_in", "bytes_out", "duration_ms", "upstream_ms", "upstream", "attempts");

      JsonNode b = byId.get(missing.headers().firstValue("X-Request-Id").orElseThrow());
      assertThat(b.get("status").asInt()).isEqualTo(404);
      assertThat(b.get("path").asText()).isEqualTo("/nowhere");
      assertThat(b.get("request_id").asText()).isEqualTo(missing.headers().firstValue("X-Request-Id").orElseThrow());
      assertThat(b.get("trace_id").asText()).hasSize(32).isNotEqualTo("00000000000000000000000000000000");
      assertThat(b.get("bytes_out").asLong()).isEqualTo(missing.body().getBytes(StandardCharsets.UTF_8).length);
      for (String absent : List.of("route", "consumer", "upstream_ms", "upstream")) {
        assertThat(b.get(absent).isNull()).as(absent).isTrue();
      }
      assertThat(b.get("attempts").asInt()).isZero();
      assertThat(b.get("bytes_in").asLong()).isZero();

      JsonNode c = byId.get(keyed.headers().firstValue("X-Request-Id").orElseThrow());
      assertThat(c.get("route").asText()).isEqualTo("keyed");
      assertThat(c.get("consumer").asText()).isEqualTo("acme");
      assertThat(c.get("status").asInt()).isEqualTo(200);
      assertThat(c.get("bytes_out").asLong()).isEqualTo("app".length());

      JsonNode d = byId.get(refused.headers().firstValue("X-Request-Id").orElseThrow());
      assertThat(d.get("status").asInt()).isEqualTo(401);
      assertThat(d.get("route").asText()).isEqualTo("keyed");
      assertThat(d.get("consumer").isNull()).isTrue();
      assertThat(d.get("upstream").isNull()).isTrue();
    } finally {
      upstream.answer(r -> CompletableFuture.completedFuture(upstream.ok()));
    }
  }

  @Test
  void textFormatWritesOneReadableLineAndTheQueryWhenAsked() {
    Path log = dir.resolve("access.txt");
    try (ProxyFixture proxy = node(log, a -> a.withFormat(NodeSettings.AccessLog.Format.TEXT).withIncludeQuery(true))) {
      HttpResponse<String> ok = proxy.get("/app/x?q=1", "traceparent", TraceContextThroughProxyTest.VALID);
      String id = ok.headers().firstValue("X-Request-Id").orElseThrow();
      String line = lines(log, 1).get(0);
      assertThat(line).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z 127\\.0\\.0\\.1 \"GET /app/x\\?q=1\" 200 0 3"
          + " \\d+\\.\\d{3}ms upstream=127\\.0\\.0\\.1:" + upstream.port() + " upstream_ms=\\d+\\.\\d{3} attempts=1 route=app"
          + " consumer=- request_id=" + id + " trace_id=4bf92f3577b34da6a3ce929d0e0e4736");
      HttpResponse<String> head = proxy.send(HttpRequest.newBuilder(proxy.uri("/app/x"))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
      assertThat(head.statusCode()).isEqualTo(200);
      assertThat(lines(log, 2).get(1)).as("a response to HEAD has no body").contains(" \"HEAD /app/x\" 200 0 0 ");
    }
  }

  @Test
  void disabledWritesNothing() {
    Path log = dir.resolve("never.log");
    Path control = dir.resolve("control.log");
    try (ProxyFixture off = node(log, a -> a.withEnabled(false)); ProxyFixture on = node(control, a -> a)) {
      assertThat(off.get("/app/x").statusCode()).isEqualTo(200);
      assertThat(off.get("/nowhere").statusCode()).isEqualTo(404);
      // The same requests on a node that logs: once its lines are there, the other node's would be too.
      on.get("/app/x");
      on.get("/nowhere");
      assertThat(lines(control, 2)).hasSize(2);
    }
    assertThat(log).doesNotExist();
  }

  /**
   * The destination is a FIFO that nobody reads: opening it blocks the writer thread for as long
   * as it has no reader. Requests are answered all the same; what does not fit in the queue is
   * dropped and counted, exactly, since the writer takes nothing before its destination is open.
   */
  @Test
  void aStuckDestinationDropsLinesAndNeverSlowsRequests() throws Exception {
    Path fifo = dir.resolve("stuck.fifo");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    assertThat(mkfifo.waitFor()).isZero();
    int queue = 4;
    int requests = 20;
    ProxyFixture proxy = node(fifo, a -> a.withQueueSize(queue));
    try {
      for (int i = 0; i < requests; i++) {
        assertThat(proxy.get("/app/" + i).statusCode()).isEqualTo(200);
      }
      assertThat(proxy.node.proxy().accessLogDrops()).isEqualTo(requests - queue);
      // Reading unblocks the writer: the queued lines come out, the first requests' ones.
      try (BufferedReader reader = Files.newBufferedReader(fifo)) {
        List<String> read = new ArrayList<>();
        for (int i = 0; i < queue; i++) {
          read.add(reader.readLine());
        }
        for (int i = 0; i < queue; i++) {
          assertThat(json(read.get(i)).get("path").asText()).isEqualTo("/app/" + i);
        }
        proxy.close();
        proxy = null;
        assertThat(reader.readLine()).as("nothing more, and the file closed at shutdown").isNull();
      }
    } finally {
      if (proxy != null) {
        // Lets the writer's open return, should the test fail before it reads.
        new ProcessBuilder("sh", "-c", "cat " + fifo + " > /dev/null").start();
        proxy.close();
      }
    }
  }
}
