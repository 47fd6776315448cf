package dev.tollgate.node.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.node.GatewayNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.UnaryOperator;

/**
 * A real node with its proxy and admin API on ephemeral loopback ports, a directory member of its
 * own and an H2 file in a temporary directory, and a real HTTP client for both listeners.
 */
final class AdminNode implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  final GatewayNode node;
  /** Headers every admin request carries, such as the token. */
  private final String[] adminHeaders;

  AdminNode(GatewayNode node, String... adminHeaders) {
    this.node = node;
    this.adminHeaders = adminHeaders;
  }

  /** Loopback ports picked by the system, a directory of its own, data in a fresh temporary directory. */
  static NodeSettings settings() {
    try {
      NodeSettings s = NodeSettingsLoader.load(Optional.empty(), Map.of(), new Properties());
      return s.withProxy(s.proxy().withPort(0).withHost("127.0.0.1"))
          .withCluster(s.cluster().withPort(0))
          .withDirectory(s.directory().withPort(0).withMembers(java.util.List.of()))
          .withAdmin(s.admin().withPort(0))
          .withManagement(s.management().withPort(0).withReadyDelay(java.time.Duration.ZERO))
          .withMetrics(s.metrics().withPort(0))
          .withStorage(s.storage().withDataDir(Files.createTempDirectory("tollgate-admin-data")));
    } catch (dev.tollgate.config.ConfigException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static AdminNode start(String yaml, UnaryOperator<NodeSettings> adjust, String... adminHeaders) {
    return new AdminNode(startNode(yaml, adjust.apply(settings())), adminHeaders);
  }

  /** A node whose config comes from the cluster's config store, seeded with {@code yaml}: the config endpoints work. */
  static AdminNode startSeeded(String yaml, UnaryOperator<NodeSettings> adjust, String... adminHeaders) {
    try {
      return new AdminNode(GatewayNode.start(adjust.apply(settings()), ConfigFactory.empty(),
          new GatewayNode.ConfigSeed(yaml, "test.yaml")).toCompletableFuture().join(), adminHeaders);
    } catch (dev.tollgate.config.ConfigException e) {
      throw new IllegalArgumentException(e.errors().toString(), e);
    }
  }

  static GatewayNode startNode(String yaml, NodeSettings settings) {
    try {
      return GatewayNode.start(settings, ConfigFactory.empty(), ConfigLoader.parse(yaml, "test"))
          .toCompletableFuture().join();
    } catch (dev.tollgate.config.ConfigException e) {
      throw new IllegalArgumentException(e.errors().toString(), e);
    }
  }

  int adminPort() {
    return node.adminAddress().orElseThrow(() -> new AssertionError("the admin API did not bind")).getPort();
  }

  /** An admin request; a non-null {@code body} is sent as application/json unless {@code headers} say otherwise. */
  HttpResponse<String> admin(String method, String path, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path))
        .timeout(Duration.ofSeconds(20))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    boolean typed = java.util.Arrays.asList(headers).stream().anyMatch(h -> h.equalsIgnoreCase("Content-Type"));
    if (body != null && !typed) {
      b.header("Content-Type", "application/json");
    }
    if (adminHeaders.length > 0) {
      b.headers(adminHeaders);
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.build());
  }

  /** A GET through the proxy, with {@code apiKey} in X-Api-Key. */
  static HttpResponse<String> proxy(GatewayNode node, String path, String apiKey) {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.proxyAddress().getPort() + path))
        .timeout(Duration.ofSeconds(20)).header("X-Api-Key", apiKey).GET().build());
  }

  HttpResponse<String> proxy(String path, String apiKey) {
    return proxy(node, path, apiKey);
  }

  static HttpResponse<String> send(HttpRequest request) {
    try {
      return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The problem+json body of {@code response}, checked to carry the request id of its header and
   * the path as instance; returned without those two, so tests can compare it whole.
   */
  static JsonNode problem(HttpResponse<String> response) {
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    ObjectNode body = (ObjectNode) json(response.body());
    assertThat(body.path("request_id").asText()).matches("[0-9a-f]{32}")
        .isEqualTo(response.headers().firstValue("X-Request-Id").orElse(null));
    assertThat(body.path("instance").asText()).isEqualTo(response.uri().getRawPath());
    assertThat(body.path("status").asInt()).isEqualTo(response.statusCode());
    body.remove("request_id");
    body.remove("instance");
    return body;
  }

  @Override
  public void close() {
    node.shutdown(Duration.ofSeconds(5)).toCompletableFuture().join();
  }
}
