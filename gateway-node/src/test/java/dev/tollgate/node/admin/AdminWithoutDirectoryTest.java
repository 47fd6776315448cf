package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.GatewayConfig;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.http.HttpResponse;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.Test;

/**
 * When the directory cannot answer: its database goes down under a running node (changes get 503
 * with Retry-After, what the directory holds in memory is still shown, and keys still work through
 * the proxy), or it never started on this node.
 */
class AdminWithoutDirectoryTest {

  static final String CONFIG = """
      upstreams:
        - name: app
          targets: [{url: "%s"}]
      consumers:
        - {id: filed, api_keys: [{key: filed-key-0123456789}]}
      routes:
        - name: api
          match: {paths: [/api]}
          upstream: app
      """;

  @Test
  void aDatabaseOutageTurnsChangesInto503WhileKeysKeepWorking() throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    RecordingUpstream upstream = new RecordingUpstream(kit.system());
    EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
    boolean postgresUp = true;
    try (AdminNode node = AdminNode.start(CONFIG.formatted(upstream.url()), s -> s.withStorage(
        s.storage().withPostgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres")))) {
      assertThat(node.admin("POST", "/consumers", "{\"id\": \"acme\"}").statusCode()).isEqualTo(201);
      String key = json(node.admin("POST", "/consumers/acme/keys", null).body()).path("key").asText();
      assertThat(node.proxy("/api", key).statusCode()).isEqualTo(200);

      postgres.close();
      postgresUp = false;
      for (String[] change : new String[][] {{"POST", "/consumers", "{\"id\": \"during\"}"},
          {"POST", "/consumers/acme/keys", null}, {"PUT", "/consumers/acme", "{\"groups\": [\"x\"]}"}}) {
        HttpResponse<String> refused = node.admin(change[0], change[1], change[2]);
        assertThat(refused.statusCode()).as("%s %s", change[0], change[1]).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("5");
        JsonNode problem = AdminNode.problem(refused);
        assertThat(problem.path("type").asText()).isEqualTo("urn:tollgate:problem:directory-unavailable");
        assertThat(problem.path("title").asText()).isEqualTo("Consumer directory unavailable");
        assertThat(problem.path("detail").asText()).startsWith("The consumer directory cannot answer right now");
      }
      assertThat(json(node.admin("GET", "/consumers/acme", null).body()).path("groups").size())
          .as("the failed PUT changed nothing, and reads come from memory").isZero();
      assertThat(node.admin("GET", "/consumers/during", null).statusCode()).isEqualTo(404);
      assertThat(node.proxy("/api", key).statusCode()).isEqualTo(200);
    } finally {
      if (postgresUp) {
        postgres.close();
      }
      upstream.close();
      kit.shutdownTestKit();
    }
  }

  @Test
  void withoutADirectoryChangesGet503AndTheFilesConsumersAreStillShown() throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    try {
      GatewayConfig config = ConfigLoader.parse(CONFIG.formatted("http://127.0.0.1:9"), "test");
      Materializer mat = Materializer.matFromSystem(kit.system());
      AdminApi api = new AdminApi(Optional.empty(), () -> config, Optional.empty(), Optional.empty(), kit.system().scheduler(),
          kit.system().dispatchers().lookup(DispatcherSelector.blocking()), mat, "X-Request-Id", Optional.empty(), Optional.empty());

      var created = api.handle(HttpRequest.POST("/consumers").withEntity(ContentTypes.APPLICATION_JSON, "{\"id\": \"x\"}"))
          .toCompletableFuture().join();
      assertThat(created.status().intValue()).isEqualTo(503);
      assertThat(created.getHeader("Retry-After").map(h -> h.value())).hasValue("5");
      ObjectNode problem = (ObjectNode) json(created.entity().toStrict(5000, mat).toCompletableFuture().join()
          .getData().utf8String());
      assertThat(problem.remove("request_id").asText()).matches("[0-9a-f]{32}");
      assertThat(problem).isEqualTo(json("""
          {"type": "urn:tollgate:problem:directory-unavailable", "title": "Consumer directory unavailable",
           "status": 503, "instance": "/consumers",
           "detail": "This node's consumer directory did not start (its database could not be reached at start-up), so only the config file's consumers are known here; restart the node once the database is back, or use another node."}"""));

      var filed = api.handle(HttpRequest.GET("/consumers/filed")).toCompletableFuture().join();
      assertThat(filed.status().intValue()).isEqualTo(200);
      assertThat(json(filed.entity().toStrict(5000, mat).toCompletableFuture().join().getData().utf8String()))
          .isEqualTo(json("{\"id\": \"filed\", \"plan\": null, \"groups\": [], \"source\": \"config\"}"));
      assertThat(api.handle(HttpRequest.GET("/consumers/other")).toCompletableFuture().join().status().intValue())
          .isEqualTo(503);
      var noCluster = api.handle(HttpRequest.GET("/cluster")).toCompletableFuture().join();
      assertThat(noCluster.status().intValue()).as("an admin API given no cluster").isEqualTo(503);
      assertThat(json(noCluster.entity().toStrict(5000, mat).toCompletableFuture().join().getData().utf8String())
          .path("type").asText()).isEqualTo("urn:tollgate:problem:cluster-unavailable");
    } finally {
      kit.shutdownTestKit();
    }
  }
}
