package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.pattern.Patterns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CommandLineTest {

  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  record Result(int code, String out) {}

  static Result run(String... args) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      int code = new CommandLine(new Main()).execute(args);
      return new Result(code, bytes.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(old);
    }
  }

  @Test
  void validateAcceptsTheMinimalExample() {
    Result r = run("validate", "../examples/minimal.yaml");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("is valid: 1 upstreams (2 targets), 1 routes");
  }

  @Test
  void validatePrintsEveryErrorAndFails(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, """
        upstreams:
          - name: echo
            targets: [{url: "http://127.0.0.1:9001"}]
            timeouts: {connect: 3 fortnights}
        routes:
          - name: echo
            match: {paths: [/echo]}
            upstream: ech
        """);
    Result r = run("validate", bad.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("2 errors:",
        "upstreams[0].timeouts.connect: \"3 fortnights\"",
        "routes[0].upstream: \"ech\" (expected: one of the upstream names: echo)");
  }

  @Test
  void everyCommandExplainsItself() {
    for (String command : List.of("run", "validate", "demo", "apply", "status", "versions", "rollback")) {
      Result r = run(command, "--help");
      assertThat(r.code()).isZero();
      assertThat(r.out()).contains("Usage: tollgate " + command);
    }
  }

  @Test
  void sigtermDrainsInFlightRequestsAndExitsZero(@TempDir Path dir) throws Exception {
    java.util.concurrent.atomic.AtomicInteger arrived = new java.util.concurrent.atomic.AtomicInteger();
    ServerBinding slow = Http.get(kit.system()).newServerAt("127.0.0.1", 0)
        .bind((Function<org.apache.pekko.http.javadsl.model.HttpRequest, CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse>>) r ->
            arrived.incrementAndGet() < 0 ? null : Patterns.after(Duration.ofMillis(1500), kit.system().classicSystem().scheduler(), kit.system().executionContext(),
                () -> CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create()
                    .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "finished"))))
        .toCompletableFuture().join();
    Path config = dir.resolve("node.yaml");
    Files.writeString(config, """
        upstreams:
          - name: slow
            targets: [{url: "http://127.0.0.1:%d"}]
        routes:
          - {name: slow, match: {paths: [/]}, upstream: slow}
        """.formatted(slow.localAddress().getPort()));
    try (NodeProcess node = NodeProcess.start(List.of("-Dtollgate.proxy.port=0", "-Dtollgate.proxy.host=127.0.0.1", "-Dtollgate.cluster.port=0"),
        "run", "--config", config.toString())) {
      int port = node.awaitPort();
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/work")).build(), HttpResponse.BodyHandlers.ofString());
      // Wait until the request is with the node (the upstream holds it for 1.5 s), then stop the node.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (arrived.get() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(arrived.get()).isEqualTo(1);
      node.process.toHandle().destroy(); // SIGTERM, keeping the output stream open
      HttpResponse<String> response;
      try {
        response = inFlight.get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        node.awaitExit(20);
        throw new AssertionError("the request in flight failed; the node's log:\n" + node.log(), e);
      }
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).isEqualTo("finished");
      assertThat(node.awaitExit(20)).as(node.log()).isZero();
      assertThat(node.log()).contains("SIGTERM received: draining", "Stopped");
    } finally {
      slow.unbind();
    }
  }
}
