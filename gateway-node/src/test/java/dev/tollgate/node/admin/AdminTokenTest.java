package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static dev.tollgate.node.admin.AdminNode.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.tollgate.config.ConfigError;
import dev.tollgate.config.ConfigException;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The admin tokens: off loopback a node will not start without one, and with them every request
 * must carry one as a bearer token; the config history names the token that applied each version.
 * The node here listens on all interfaces, as one reachable by other hosts does, and no token
 * appears in any of its log lines or answers.
 */
class AdminTokenTest {

  static final String TOKEN = "admin-token-" + java.util.UUID.randomUUID();
  static final String ALICE = "alice-token-" + java.util.UUID.randomUUID();
  static final String CI = "ci-token-" + java.util.UUID.randomUUID();
  static final java.util.List<String> SECRETS = java.util.List.of(TOKEN, ALICE, CI);
  static final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  static AdminNode node;

  /**
   * What was logged so far. The node's threads keep logging while a test reads, and ListAppender
   * appends to a plain ArrayList under its own lock (AppenderBase.doAppend is synchronized on the
   * appender): iterating it without that lock failed once with ConcurrentModificationException.
   */
  static java.util.List<ILoggingEvent> logged() {
    synchronized (logs) {
      return java.util.List.copyOf(logs.list);
    }
  }

  @BeforeAll
  static void start() {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    node = AdminNode.startSeeded(document("/api"), s -> s.withAdmin(s.admin().withToken(TOKEN)
        .withTokens(Map.of("ops-alice", ALICE, "ci", CI)).withHost("0.0.0.0")));
  }

  @AfterAll
  static void stop() {
    try {
      node.close();
      assertThat(logged()).isNotEmpty();
      for (String secret : SECRETS) {
        assertThat(logged()).noneMatch(e -> e.getFormattedMessage().contains(secret)
            || (e.getThrowableProxy() != null && String.valueOf(e.getThrowableProxy().getMessage()).contains(secret)));
      }
      assertThat(logged()).anyMatch(e -> e.getFormattedMessage().contains("bearer token required: admin, ci, ops-alice"));
    } finally {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    }
  }

  static String document(String path) {
    return """
        upstreams:
          - name: app
            targets: [{url: "http://127.0.0.1:9"}]
        consumers:
          - {id: filed, api_keys: [{key: filed-key-0123456789}]}
        routes:
          - name: api
            match: {paths: [%s]}
            upstream: app
        """.formatted(path);
  }

  @Test
  void aNonLoopbackAdminHostWithoutATokenIsASettingsError() {
    assertThatThrownBy(() -> NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_ADMIN_HOST", "0.0.0.0"),
        new Properties()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors()).extracting(ConfigError::path)
            .containsExactly("tollgate.admin.token"));
    NodeSettings withToken = AdminNode.settings().withAdmin(AdminNode.settings().admin().withToken(TOKEN));
    assertThatCode(() -> withToken.admin().withToken("")).as("loopback without a token is fine")
        .doesNotThrowAnyException();
    assertThatThrownBy(() -> withToken.admin().withHost("192.168.1.10").withToken(""))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("tollgate.admin.token: empty");
  }

  @Test
  void withoutTheTokenEveryRequestGets401WithABearerChallenge() {
    String challenge = "Bearer realm=\"tollgate-admin\"";
    HttpResponse<String> missing = node.admin("GET", "/consumers/filed", null);
    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(missing.headers().firstValue("WWW-Authenticate")).hasValue(challenge);
    assertThat(problem(missing)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:unauthorized", "title": "Unauthorized", "status": 401,
         "detail": "The admin API needs the header Authorization: Bearer <token>, with a token of tollgate.admin.token or tollgate.admin.tokens."}"""));

    JsonAssert wrong = r -> {
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue(challenge);
      assertThat(problem(r)).isEqualTo(json("""
          {"type": "urn:tollgate:problem:unauthorized", "title": "Unauthorized", "status": 401,
           "detail": "The bearer token is not valid."}"""));
      SECRETS.forEach(secret -> assertThat(r.body()).doesNotContain(secret));
    };
    for (String secret : SECRETS) {
      wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer " + secret + "x"));
      wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer " + secret.substring(1)));
      wrong.check(node.admin("PUT", "/config", document("/sneaky"), "Content-Type", "application/yaml",
          "Authorization", "Bearer " + secret.toUpperCase(java.util.Locale.ROOT)));
    }
    wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer x"));
    wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer " + ALICE + " " + CI));
    assertThat(node.admin("GET", "/consumers/filed", null, "Authorization", "Basic " + TOKEN).statusCode())
        .as("another scheme carries no bearer token").isEqualTo(401);

    // Nothing is told before the token: not which paths exist, not whether a body is valid.
    assertThat(node.admin("GET", "/nothing", null).statusCode()).isEqualTo(401);
    assertThat(node.admin("POST", "/consumers", "{\"id\": \"sneaky\"}").statusCode()).isEqualTo(401);
    assertThat(node.admin("GET", "/consumers/sneaky", null, "Authorization", "Bearer " + TOKEN).statusCode())
        .as("and nothing was created").isEqualTo(404);
    assertThat(node.admin("GET", "/cluster", null).statusCode()).isEqualTo(401);
    assertThat(node.admin("GET", "/consumers/filed/usage", null, "Authorization", "Bearer " + CI + "x").statusCode())
        .isEqualTo(401);
    assertThat(node.admin("GET", "/config", null, "Authorization", "Bearer " + ALICE).body())
        .as("nothing was applied").doesNotContain("/sneaky");
  }

  @Test
  void theHistoryNamesTheTokenThatAppliedEachVersion() {
    HttpResponse<String> byAlice = node.admin("PUT", "/config", document("/alice"), "Content-Type", "application/yaml",
        "Authorization", "Bearer " + ALICE);
    assertThat(byAlice.statusCode()).isEqualTo(200);
    assertThat(json(byAlice.body()).path("applied_by").asText()).isEqualTo("ops-alice");
    long aliceVersion = json(byAlice.body()).path("version").asLong();
    HttpResponse<String> byCi = node.admin("PUT", "/config", document("/ci"), "Content-Type", "application/yaml",
        "Authorization", "Bearer " + CI);
    assertThat(json(byCi.body()).path("applied_by").asText()).isEqualTo("ci");
    HttpResponse<String> rollback = node.admin("POST", "/config/rollback/" + aliceVersion, null,
        "Authorization", "Bearer " + TOKEN);
    assertThat(rollback.statusCode()).isEqualTo(200);
    assertThat(json(rollback.body()).path("applied_by").asText()).as("tollgate.admin.token's name").isEqualTo("admin");
    assertThat(json(rollback.body()).path("rollback_of").asLong()).isEqualTo(aliceVersion);

    HttpResponse<String> versions = node.admin("GET", "/config/versions", null, "Authorization", "Bearer " + CI);
    java.util.List<String> appliedBy = new java.util.ArrayList<>();
    json(versions.body()).forEach(v -> appliedBy.add(v.path("applied_by").asText()));
    assertThat(appliedBy).containsSubsequence("seed:test.yaml", "ops-alice", "ci", "admin");
    assertThat(appliedBy.subList(appliedBy.size() - 3, appliedBy.size())).containsExactly("ops-alice", "ci", "admin");
    SECRETS.forEach(secret -> assertThat(versions.body()).doesNotContain(secret));
    assertThat(logged()).anyMatch(e -> e.getFormattedMessage().matches("Admin [0-9a-f]+: config version [0-9]+"
        + " applied by ops-alice \\(a new document\\)"));
  }

  @Test
  void withTheTokenRequestsAreServed() {
    HttpResponse<String> right = node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer " + TOKEN);
    assertThat(right.statusCode()).isEqualTo(200);
    assertThat(json(right.body()).path("source").asText()).isEqualTo("config");
    assertThat(node.admin("GET", "/consumers/filed", null, "Authorization", "bearer " + TOKEN).statusCode())
        .as("the scheme is case-insensitive").isEqualTo(200);
    HttpResponse<String> created = node.admin("POST", "/consumers", "{\"id\": \"tokened\"}",
        "Authorization", "Bearer " + TOKEN);
    assertThat(created.statusCode()).isEqualTo(201);
  }

  interface JsonAssert {
    void check(HttpResponse<String> response);
  }
}
