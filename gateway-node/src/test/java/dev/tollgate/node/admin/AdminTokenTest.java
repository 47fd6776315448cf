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
 * The admin token: off loopback a node will not start without one, and with one every request must
 * carry it as a bearer token. The node here listens on all interfaces, as one reachable by other
 * hosts does, and the token appears in none of its log lines.
 */
class AdminTokenTest {

  static final String TOKEN = "admin-token-" + java.util.UUID.randomUUID();
  static final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  static AdminNode node;

  @BeforeAll
  static void start() {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    node = AdminNode.start("""
        upstreams:
          - name: app
            targets: [{url: "http://127.0.0.1:9"}]
        consumers:
          - {id: filed, api_keys: [{key: filed-key-0123456789}]}
        routes:
          - name: api
            match: {paths: [/api]}
            upstream: app
        """, s -> s.withAdmin(s.admin().withToken(TOKEN).withHost("0.0.0.0")));
  }

  @AfterAll
  static void stop() {
    try {
      node.close();
      assertThat(logs.list).isNotEmpty();
      assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains(TOKEN));
    } finally {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    }
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
         "detail": "The admin API needs the header Authorization: Bearer <token>, with the token of tollgate.admin.token."}"""));

    JsonAssert wrong = r -> {
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue(challenge);
      assertThat(problem(r)).isEqualTo(json("""
          {"type": "urn:tollgate:problem:unauthorized", "title": "Unauthorized", "status": 401,
           "detail": "The bearer token is not valid."}"""));
      assertThat(r.body()).doesNotContain(TOKEN);
    };
    wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer " + TOKEN + "x"));
    wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer " + TOKEN.substring(1)));
    wrong.check(node.admin("GET", "/consumers/filed", null, "Authorization", "Bearer x"));
    assertThat(node.admin("GET", "/consumers/filed", null, "Authorization", "Basic " + TOKEN).statusCode())
        .as("another scheme carries no bearer token").isEqualTo(401);

    // Nothing is told before the token: not which paths exist, not whether a body is valid.
    assertThat(node.admin("GET", "/nothing", null).statusCode()).isEqualTo(401);
    assertThat(node.admin("POST", "/consumers", "{\"id\": \"sneaky\"}").statusCode()).isEqualTo(401);
    assertThat(node.admin("GET", "/consumers/sneaky", null, "Authorization", "Bearer " + TOKEN).statusCode())
        .as("and nothing was created").isEqualTo(404);
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
