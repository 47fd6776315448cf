package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code tollgate demo} really proxies to its two upstreams, and what it prints works. */
class DemoSetupTest {

  @Test
  void theDemoRoutesEchoToBothUpstreamsAndPrintsWorkingCurlLines() throws Exception {
    NodeSettings defaults = NodeSettingsLoader.defaults();
    NodeSettings settings = defaults.withProxy(defaults.proxy().withHost("127.0.0.1").withPort(0))
        .withCluster(defaults.cluster().withPort(0))
        .withDirectory(defaults.directory().withPort(0)).withAdmin(defaults.admin().withPort(0))
        .withManagement(defaults.management().withPort(0).withReadyDelay(java.time.Duration.ZERO))
        .withMetrics(defaults.metrics().withPort(0))
        .withStorage(defaults.storage().withDataDir(java.nio.file.Files.createTempDirectory("tollgate-demo-data")));
    DemoSetup demo = DemoSetup.start(settings, ConfigFactory.empty());
    try {
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      demo.printWelcome(new PrintStream(printed, true, StandardCharsets.UTF_8));
      String welcome = printed.toString(StandardCharsets.UTF_8);
      Matcher first = Pattern.compile("curl -s (http://\\S+/echo/hello\\?name=tollgate)").matcher(welcome);
      assertThat(first.find()).as(welcome).isTrue();

      HttpClient client = HttpClient.newHttpClient();
      Set<String> upstreams = new HashSet<>();
      for (int i = 0; i < 4; i++) {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(first.group(1))).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"path\" : \"/hello\"", "\"query\" : \"name=tollgate\"");
        Matcher m = Pattern.compile("\"upstream\" : \"([^\"]+)\"").matcher(r.body());
        assertThat(m.find()).isTrue();
        upstreams.add(m.group(1));
      }
      assertThat(upstreams).containsExactlyInAnyOrder("demo-upstream-1", "demo-upstream-2");

      Matcher alice = Pattern.compile("curl -si -H 'X-Api-Key: (demo-key-alice-0001)' (http://\\S+/echo/hi)").matcher(welcome);
      assertThat(alice.find()).as(welcome).isTrue();
      List<Integer> statuses = new java.util.ArrayList<>();
      for (int i = 0; i < 6; i++) {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(alice.group(2)))
            .header("X-Api-Key", alice.group(1)).build(), HttpResponse.BodyHandlers.ofString());
        statuses.add(r.statusCode());
        if (r.statusCode() == 200) {
          assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("\"trial-minute\";q=5;w=60");
        }
      }
      // Five in a minute; unless the minute turned meanwhile, the sixth is refused.
      assertThat(statuses.subList(0, 5)).containsOnly(200).hasSize(5);
      assertThat(statuses.get(5)).isIn(200, 429);
      Matcher wrongKey = Pattern.compile("curl -si -H 'X-Api-Key: (wrong-key-0000)' (http://\\S+/echo/hi)").matcher(welcome);
      assertThat(wrongKey.find()).isTrue();
      assertThat(client.send(HttpRequest.newBuilder(URI.create(wrongKey.group(2))).header("X-Api-Key", wrongKey.group(1))
          .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);

      Matcher create = Pattern.compile("curl -s -H 'Content-Type: application/json' -d '(\\{[^']+})' (http://\\S+/consumers)")
          .matcher(welcome);
      assertThat(create.find()).as(welcome).isTrue();
      assertThat(client.send(HttpRequest.newBuilder(URI.create(create.group(2))).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(create.group(1))).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(201);
      Matcher issue = Pattern.compile("curl -s -X POST (http://\\S+/consumers/bob/keys)").matcher(welcome);
      assertThat(issue.find()).as(welcome).isTrue();
      HttpResponse<String> issued = client.send(HttpRequest.newBuilder(URI.create(issue.group(1)))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(issued.statusCode()).isEqualTo(201);
      Matcher key = Pattern.compile("\"key\"\\s*:\\s*\"([^\"]+)\"").matcher(issued.body());
      assertThat(key.find()).as(issued.body()).isTrue();
      HttpResponse<String> bob = client.send(HttpRequest.newBuilder(URI.create(alice.group(2)))
          .header("X-Api-Key", key.group(1)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(bob.statusCode()).isEqualTo(200);
      assertThat(bob.headers().firstValue("RateLimit-Policy")).hasValue("\"trial-minute\";q=5;w=60");

      Matcher upstreamsLine = Pattern.compile("curl -s (http://\\S+/upstreams) ").matcher(welcome);
      assertThat(upstreamsLine.find()).as(welcome).isTrue();
      HttpResponse<String> shown = client.send(HttpRequest.newBuilder(URI.create(upstreamsLine.group(1))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(shown.statusCode()).isEqualTo(200);
      assertThat(shown.body()).contains("\"name\":\"echo\"").contains("\"available_targets\":2");
      Matcher force = Pattern.compile("curl -s -X POST (http://\\S+/forced-open)").matcher(welcome);
      assertThat(force.find()).as(welcome).isTrue();
      HttpResponse<String> forced = client.send(HttpRequest.newBuilder(URI.create(force.group(1)))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(forced.statusCode()).as(forced.body()).isEqualTo(200);
      assertThat(forced.body()).contains("FORCED_OPEN");
      HttpResponse<String> releasedAnswer = client.send(HttpRequest.newBuilder(URI.create(force.group(1)))
          .DELETE().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(releasedAnswer.body()).contains("\"breaker\":\"CLOSED\"");

      Matcher notFound = Pattern.compile("curl -si (http://\\S+/nowhere)").matcher(welcome);
      assertThat(notFound.find()).isTrue();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(notFound.group(1))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(404);
      assertThat(r.headers().firstValue("Content-Type")).hasValue("application/problem+json");

      // The metrics line: after the requests above, the echo route's 2xx counter is there (the
      // figures move once per tollgate.metrics.interval, so wait for it).
      Matcher metricsLine = Pattern.compile("curl -s (http://\\S+/metrics) ").matcher(welcome);
      assertThat(metricsLine.find()).as(welcome).isTrue();
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
      String scraped = "";
      while (!scraped.contains("tollgate_requests_total{route=\"echo\",status_class=\"2xx\"}")
          && !scraped.contains("tollgate_requests_total{status_class=\"2xx\",route=\"echo\"}")
          && System.nanoTime() < deadline) {
        Thread.sleep(200);
        scraped = client.send(HttpRequest.newBuilder(URI.create(metricsLine.group(1))).build(),
            HttpResponse.BodyHandlers.ofString()).body();
      }
      assertThat(scraped).containsPattern("tollgate_requests_total\\{[^}]*route=\"echo\"[^}]*} [1-9]");
    } finally {
      demo.stop();
    }
  }
}
