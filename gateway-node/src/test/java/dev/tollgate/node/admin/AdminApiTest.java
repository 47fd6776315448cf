package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static dev.tollgate.node.admin.AdminNode.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admin API of one real node (no token, on loopback), seen from a real client, with the keys
 * it issues used through the same node's proxy in front of a real upstream.
 */
class AdminApiTest {

  static final ActorTestKit kit = ActorTestKit.create();
  static RecordingUpstream upstream;
  static AdminNode node;

  static final String FILED_KEY = "filed-key-0123456789";

  @BeforeAll
  static void start() {
    upstream = new RecordingUpstream(kit.system());
    node = AdminNode.start("""
        upstreams:
          - name: app
            targets: [{url: %s}]
        plans:
          - {name: gold, limits: [{requests: 100000, per: minute}]}
          - {name: free, limits: [{requests: 100000, per: hour}]}
        consumers:
          - {id: filed, plan: gold, groups: [staff], api_keys: [{key: %s}]}
        routes:
          - name: api
            match: {paths: [/api]}
            upstream: app
            auth: {accept: [api_key]}
        """.formatted(upstream.url(), FILED_KEY), s -> s);
  }

  @AfterAll
  static void stop() {
    node.close();
    upstream.close();
    kit.shutdownTestKit();
  }

  @Test
  void aConsumerCreatedHereGetsAKeyThatWorksThroughTheProxyUntilItIsRevoked() {
    HttpResponse<String> created = node.admin("POST", "/consumers",
        "{\"id\": \"acme\", \"plan\": \"gold\", \"groups\": [\"partners\", \"emea\"]}");
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.headers().firstValue("Location")).hasValue("/consumers/acme");
    assertThat(created.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode acme = json("""
        {"id": "acme", "plan": "gold", "groups": ["partners", "emea"], "source": "directory"}""");
    assertThat(json(created.body())).isEqualTo(acme);
    assertThat(json(node.admin("GET", "/consumers/acme", null).body())).isEqualTo(acme);

    HttpResponse<String> issued = node.admin("POST", "/consumers/acme/keys", null);
    assertThat(issued.statusCode()).isEqualTo(201);
    assertThat(issued.headers().firstValue("Cache-Control")).hasValue("no-store");
    JsonNode key = json(issued.body());
    assertThat(key.size()).isEqualTo(3);
    String keyId = key.path("key_id").asText();
    String apiKey = key.path("key").asText();
    assertThat(keyId).matches("[0-9a-f]{16}");
    assertThat(apiKey).startsWith("tg_").hasSizeGreaterThan(40);
    assertThat(Instant.parse(key.path("created_at").asText())).isBetween(Instant.now().minusSeconds(60), Instant.now());
    assertThat(issued.headers().firstValue("Location")).hasValue("/consumers/acme/keys/" + keyId);

    HttpResponse<String> through = node.proxy("/api/orders", apiKey);
    assertThat(through.statusCode()).isEqualTo(200);
    assertThat(upstream.lastHeader("X-Consumer-Id")).isEqualTo("acme");
    assertThat(upstream.lastHeader("X-Consumer-Groups")).isEqualTo("partners,emea");
    assertThat(upstream.lastHeader("X-Api-Key")).as("the key stays at the gateway").isNull();

    HttpResponse<String> listed = node.admin("GET", "/consumers/acme/keys", null);
    assertThat(listed.statusCode()).isEqualTo(200);
    assertThat(json(listed.body())).isEqualTo(json("""
        [{"key_id": "%s", "created_at": "%s"}]""".formatted(keyId, key.path("created_at").asText())));
    assertThat(listed.body()).doesNotContain(apiKey).doesNotContain("\"key\"");
    assertThat(json(node.admin("GET", "/consumers/acme/keys/" + keyId, null).body()))
        .isEqualTo(json(listed.body()).get(0));

    assertThat(node.admin("DELETE", "/consumers/acme/keys/" + keyId, null).statusCode()).isEqualTo(204);
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> node.proxy("/api/orders", apiKey).statusCode() == 401);
    assertThat(node.admin("GET", "/consumers/acme/keys", null).body()).isEqualTo("[]");
    HttpResponse<String> again = node.admin("DELETE", "/consumers/acme/keys/" + keyId, null);
    assertThat(again.statusCode()).isEqualTo(404);
    assertThat(problem(again)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:unknown-key", "title": "No such API key", "status": 404,
         "detail": "Consumer 'acme' has no API key '%s'."}""".formatted(keyId)));

    assertThat(node.admin("DELETE", "/consumers/acme", null).statusCode()).isEqualTo(204);
    HttpResponse<String> gone = node.admin("GET", "/consumers/acme", null);
    assertThat(gone.statusCode()).isEqualTo(404);
    assertThat(problem(gone)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:unknown-consumer", "title": "No such consumer", "status": 404,
         "detail": "There is no consumer 'acme', neither in the directory nor in the config file."}"""));
    assertThat(node.admin("DELETE", "/consumers/acme", null).statusCode()).isEqualTo(404);
  }

  @Test
  void deletingAConsumerRevokesItsKeys() {
    assertThat(node.admin("POST", "/consumers", "{\"id\": \"leaving\"}").statusCode()).isEqualTo(201);
    String first = json(node.admin("POST", "/consumers/leaving/keys", "{}").body()).path("key").asText();
    String second = json(node.admin("POST", "/consumers/leaving/keys", null).body()).path("key").asText();
    assertThat(node.proxy("/api", first).statusCode()).isEqualTo(200);
    assertThat(node.proxy("/api", second).statusCode()).isEqualTo(200);
    assertThat(upstream.lastHeader("X-Consumer-Id")).isEqualTo("leaving");
    assertThat(upstream.lastHeader("X-Consumer-Groups")).as("no groups").isNull();

    assertThat(node.admin("DELETE", "/consumers/leaving", null).statusCode()).isEqualTo(204);
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> node.proxy("/api", first).statusCode() == 401 && node.proxy("/api", second).statusCode() == 401);
    // Under the same id again, a new consumer starts without the old keys.
    assertThat(node.admin("POST", "/consumers", "{\"id\": \"leaving\"}").statusCode()).isEqualTo(201);
    assertThat(node.admin("GET", "/consumers/leaving/keys", null).body()).isEqualTo("[]");
    assertThat(node.proxy("/api", first).statusCode()).isEqualTo(401);
  }

  @Test
  void putReplacesPlanAndGroupsAndTheProxyFollows() {
    assertThat(node.admin("POST", "/consumers", "{\"id\": \"mover\", \"plan\": \"free\", \"groups\": [\"a\"]}")
        .statusCode()).isEqualTo(201);
    String key = json(node.admin("POST", "/consumers/mover/keys", null).body()).path("key").asText();
    assertThat(node.proxy("/api", key).statusCode()).isEqualTo(200);
    assertThat(upstream.lastHeader("X-Consumer-Groups")).isEqualTo("a");

    HttpResponse<String> replaced = node.admin("PUT", "/consumers/mover", "{\"id\": \"mover\", \"groups\": [\"b\", \"c\"]}");
    assertThat(replaced.statusCode()).isEqualTo(200);
    assertThat(json(replaced.body())).isEqualTo(json("""
        {"id": "mover", "plan": null, "groups": ["b", "c"], "source": "directory"}"""));
    assertThat(json(node.admin("GET", "/consumers/mover", null).body())).isEqualTo(json(replaced.body()));
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10)).until(() ->
        node.proxy("/api", key).statusCode() == 200 && "b,c".equals(upstream.lastHeader("X-Consumer-Groups")));

    HttpResponse<String> renamed = node.admin("PUT", "/consumers/mover", "{\"id\": \"other\"}");
    assertThat(renamed.statusCode()).isEqualTo(400);
    assertThat(problem(renamed).path("errors")).isEqualTo(json("""
        ["id: \\"other\\" (expected: the path's id \\"mover\\", or no id; an id is not changed, create a consumer under the new id instead)"]"""));

    HttpResponse<String> absent = node.admin("PUT", "/consumers/nobody", "{\"plan\": \"gold\"}");
    assertThat(absent.statusCode()).isEqualTo(404);
    assertThat(problem(absent).path("type").asText()).isEqualTo("urn:tollgate:problem:unknown-consumer");
  }

  @Test
  void theConfigFilesConsumersAreShownButReadOnly() {
    HttpResponse<String> filed = node.admin("GET", "/consumers/filed", null);
    assertThat(filed.statusCode()).isEqualTo(200);
    assertThat(json(filed.body())).isEqualTo(json("""
        {"id": "filed", "plan": "gold", "groups": ["staff"], "source": "config"}"""));

    JsonNode readOnly = json("""
        {"type": "urn:tollgate:problem:config-consumer", "title": "Consumer declared in the config file", "status": 409,
         "detail": "Consumer 'filed' is declared in the config file, which the admin API does not change: edit it there, along with its API keys."}""");
    for (String[] call : new String[][] {{"PUT", "/consumers/filed", "{\"plan\": \"free\"}"}, {"DELETE", "/consumers/filed", null},
        {"POST", "/consumers/filed/keys", null}, {"GET", "/consumers/filed/keys", null},
        {"DELETE", "/consumers/filed/keys/0011223344556677", null}}) {
      HttpResponse<String> r = node.admin(call[0], call[1], call[2]);
      assertThat(r.statusCode()).as("%s %s", call[0], call[1]).isEqualTo(409);
      assertThat(problem(r)).isEqualTo(readOnly);
    }
    HttpResponse<String> taken = node.admin("POST", "/consumers", "{\"id\": \"filed\"}");
    assertThat(taken.statusCode()).isEqualTo(409);
    assertThat(problem(taken)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:consumer-exists", "title": "Consumer exists", "status": 409,
         "detail": "A consumer 'filed' exists already in the config file."}"""));
    assertThat(node.proxy("/api", FILED_KEY).statusCode()).as("and its key still works").isEqualTo(200);
  }

  @Test
  void anIdTheDirectoryHoldsCannotBeCreatedTwice() {
    assertThat(node.admin("POST", "/consumers", "{\"id\": \"twice\"}").statusCode()).isEqualTo(201);
    HttpResponse<String> again = node.admin("POST", "/consumers", "{\"id\": \"twice\", \"plan\": \"gold\"}");
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(problem(again)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:consumer-exists", "title": "Consumer exists", "status": 409,
         "detail": "A consumer 'twice' exists already in the directory."}"""));
    assertThat(json(node.admin("GET", "/consumers/twice", null).body()).path("plan").isNull()).as("unchanged").isTrue();
  }

  @Test
  void aBadConsumerIsRefusedWithEveryErrorAtOnce() {
    HttpResponse<String> bad = node.admin("POST", "/consumers", """
        {"id": "-acme", "plan": "platinum", "groups": ["ok", "not ok", "ok", 7], "api_keys": [], "plann": "x"}""");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(problem(bad)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:invalid-body", "title": "Invalid request body", "status": 400,
         "detail": "The consumer has 7 errors: see errors.",
         "errors": [
           "api_keys: unknown field (expected one of: id, plan, groups)",
           "plann: unknown field (expected one of: id, plan, groups)",
           "id: \\"-acme\\" (expected: an id of 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit)",
           "plan: \\"platinum\\" (expected: one of the plan names: gold, free)",
           "groups[1]: \\"not ok\\" (expected: a group name of 1 to 128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit)",
           "groups[2]: \\"ok\\" (expected: each name once; ok is listed before)",
           "groups[3]: 7 (expected: a group name of 1 to 128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit)"
         ]}"""));
    assertThat(node.admin("GET", "/consumers/-acme", null).statusCode()).isEqualTo(404);

    HttpResponse<String> noId = node.admin("POST", "/consumers", "{\"groups\": \"staff\"}");
    assertThat(problem(noId).path("errors")).isEqualTo(json("""
        ["id: missing (expected: an id of 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit)",
         "groups: \\"staff\\" (expected: a list of group names such as [\\"partners\\"])"]"""));
    HttpResponse<String> empty = node.admin("POST", "/consumers", null);
    assertThat(empty.statusCode()).isEqualTo(400);
    assertThat(problem(empty).path("errors")).isEqualTo(json("""
        ["(body): empty (expected: a JSON object with id and optionally plan and groups)"]"""));
    HttpResponse<String> keyWithSettings = node.admin("POST", "/consumers/filed/keys", "{\"expires\": \"1d\"}");
    assertThat(keyWithSettings.statusCode()).isEqualTo(400);
    assertThat(problem(keyWithSettings).path("errors")).isEqualTo(json("""
        ["expires: unknown field (expected: none; a key is issued with no settings)"]"""));
  }

  @Test
  void bodiesMustBeJsonOfAtMost64KiB() {
    HttpResponse<String> malformed = node.admin("POST", "/consumers", "{\"id\": \"x\",}");
    assertThat(malformed.statusCode()).isEqualTo(400);
    JsonNode m = problem(malformed);
    assertThat(m.path("type").asText()).isEqualTo("urn:tollgate:problem:bad-json");
    assertThat(m.path("detail").asText()).startsWith("The body is not valid JSON: ").endsWith("at line 1, column 12.");
    HttpResponse<String> twice = node.admin("POST", "/consumers", "{\"id\": \"x\", \"id\": \"y\"}");
    assertThat(problem(twice).path("detail").asText()).contains("Duplicate field 'id'");
    assertThat(problem(node.admin("POST", "/consumers", "{\"id\": \"x\"} {}")).path("type").asText())
        .isEqualTo("urn:tollgate:problem:bad-json");

    HttpResponse<String> form = node.admin("POST", "/consumers", "{\"id\": \"x\"}", "Content-Type", "text/plain");
    assertThat(form.statusCode()).isEqualTo(415);
    assertThat(problem(form)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:unsupported-media-type", "title": "Unsupported media type", "status": 415,
         "detail": "The body must be application/json, not text/plain."}"""));

    String huge = "{\"id\": \"big\", \"groups\": [\"" + "g".repeat(64 << 10) + "\"]}";
    HttpResponse<String> tooLarge = node.admin("POST", "/consumers", huge);
    assertThat(tooLarge.statusCode()).isEqualTo(413);
    assertThat(problem(tooLarge)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:body-too-large", "title": "Request body too large", "status": 413,
         "detail": "Admin request bodies are limited to 65536 bytes."}"""));
    assertThat(node.admin("GET", "/consumers/big", null).statusCode()).isEqualTo(404);
  }

  @Test
  void unknownPathsAre404AndOtherMethods405() {
    for (String path : new String[] {"/", "/nothing", "/consumers/a/b", "/consumers/a/keys/b/c", "/consumers//keys"}) {
      HttpResponse<String> r = node.admin("GET", path, null);
      assertThat(r.statusCode()).as(path).isEqualTo(404);
      assertThat(problem(r)).isEqualTo(json("""
          {"type": "urn:tollgate:problem:not-found", "title": "Not found", "status": 404,
           "detail": "The admin API has nothing at %s."}""".formatted(path)));
    }
    HttpResponse<String> list = node.admin("GET", "/consumers", null);
    assertThat(list.statusCode()).isEqualTo(405);
    assertThat(list.headers().firstValue("Allow")).hasValue("POST");
    assertThat(problem(list)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:method-not-allowed", "title": "Method not allowed", "status": 405,
         "detail": "/consumers takes POST, not GET."}"""));
    assertThat(node.admin("POST", "/consumers/filed", "{}").headers().firstValue("Allow")).hasValue("GET, PUT, DELETE");
    assertThat(node.admin("PUT", "/consumers/filed/keys", "{}").headers().firstValue("Allow")).hasValue("GET, POST");
    assertThat(node.admin("PATCH", "/consumers/filed/keys/k", "{}").statusCode()).isEqualTo(405);

    HttpResponse<String> noConsumer = node.admin("POST", "/consumers/nobody/keys", null);
    assertThat(noConsumer.statusCode()).isEqualTo(404);
    assertThat(problem(noConsumer).path("detail").asText())
        .isEqualTo("There is no consumer 'nobody', neither in the directory nor in the config file.");
    assertThat(node.admin("GET", "/consumers/nobody/keys", null).statusCode()).isEqualTo(404);
    assertThat(node.admin("DELETE", "/consumers/nobody/keys/0011223344556677", null).statusCode()).isEqualTo(404);
  }
}
