package dev.tollgate.node.proxy;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.node.GatewayNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.UnaryOperator;

/** A real node on an ephemeral loopback port, with a real HTTP client pointed at it. */
final class ProxyFixture implements AutoCloseable {

  final GatewayNode node;
  final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private ProxyFixture(GatewayNode node) {
    this.node = node;
  }

  static NodeSettings defaultSettings() {
    try {
      NodeSettings s = NodeSettingsLoader.load(Optional.empty(), Map.of(), new Properties());
      return s.withProxy(s.proxy().withPort(0).withHost("127.0.0.1")).withCluster(s.cluster().withPort(0))
          .withDirectory(s.directory().withPort(0)).withAdmin(s.admin().withPort(0))
          .withManagement(s.management().withPort(0).withReadyDelay(Duration.ZERO))
          .withMetrics(s.metrics().withPort(0))
          .withStorage(s.storage().withDataDir(java.nio.file.Files.createTempDirectory("tollgate-data")));
    } catch (dev.tollgate.config.ConfigException | java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static ProxyFixture start(String yaml) {
    return start(yaml, s -> s);
  }

  static ProxyFixture start(String yaml, UnaryOperator<NodeSettings> adjust) {
    try {
      GatewayNode node = GatewayNode.start(adjust.apply(defaultSettings()), ConfigFactory.empty(),
          ConfigLoader.parse(yaml, "test")).toCompletableFuture().join();
      return new ProxyFixture(node);
    } catch (dev.tollgate.config.ConfigException e) {
      throw new IllegalArgumentException(e.errors().toString(), e);
    }
  }

  int port() {
    return node.proxyAddress().getPort();
  }

  URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  HttpResponse<String> get(String pathAndQuery, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(20));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.GET().build());
  }

  HttpResponse<String> send(HttpRequest request) {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    node.shutdown(Duration.ofSeconds(5)).toCompletableFuture().join();
  }
}
