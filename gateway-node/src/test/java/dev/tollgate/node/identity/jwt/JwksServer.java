package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real JWKS endpoint on 127.0.0.1: serves what the test sets (keys, an error status, a broken body,
 * cache headers), counts the fetches, and can hold answers until released.
 */
final class JwksServer implements AutoCloseable {

  /** What the endpoint answers; {@code chunked} sends no Content-Length. */
  record Answer(int status, byte[] body, Map<String, String> headers, boolean chunked) {}

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final AtomicInteger fetches = new AtomicInteger();
  private volatile Answer answer = new Answer(404, new byte[0], Map.of(), false);
  private volatile CountDownLatch gate = new CountDownLatch(0);

  private JwksServer() throws IOException {
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/jwks", this::answer);
    server.setExecutor(executor);
    server.start();
  }

  static JwksServer start() throws IOException {
    return new JwksServer();
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks");
  }

  int fetches() {
    return fetches.get();
  }

  /** Serves these keys (their public parts) with these response headers. */
  void serve(List<JWK> keys, Map<String, String> headers) {
    String json = new JWKSet(keys).toPublicJWKSet().toString();
    answer = new Answer(200, json.getBytes(StandardCharsets.UTF_8), headers, false);
  }

  void serve(JWK... keys) {
    serve(List.of(keys), Map.of());
  }

  void answer(Answer a) {
    answer = a;
  }

  /** Holds every answer until {@link #release()}. */
  void hold() {
    gate = new CountDownLatch(1);
  }

  void release() {
    gate.countDown();
  }

  private void answer(HttpExchange exchange) throws IOException {
    fetches.incrementAndGet();
    try {
      if (!gate.await(30, TimeUnit.SECONDS)) {
        throw new IOException("held too long");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    Answer a = answer;
    try (exchange; OutputStream out = exchange.getResponseBody()) {
      a.headers().forEach((name, value) -> exchange.getResponseHeaders().add(name, value));
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(a.status(), a.chunked() ? 0 : (a.body().length == 0 ? -1 : a.body().length));
      out.write(a.body());
    }
  }

  @Override
  public void close() {
    release();
    server.stop(0);
    executor.shutdownNow();
  }
}
