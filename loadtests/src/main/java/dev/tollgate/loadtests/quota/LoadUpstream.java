package dev.tollgate.loadtests.quota;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The upstream behind the nodes of a load run: answers every request with {@code 200 ok}, on
 * 127.0.0.1. It is not what is measured, so the JDK's own HTTP server is enough.
 */
final class LoadUpstream implements AutoCloseable {

  private static final byte[] BODY = "ok\n".getBytes(StandardCharsets.US_ASCII);

  private final HttpServer server;
  private final ExecutorService executor;

  private LoadUpstream(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  static LoadUpstream start() throws IOException {
    // Without TCP_NODELAY the server's separate writes of head and body meet delayed ACKs: about
    // 40 ms per response on a keep-alive connection. Read once, when the server class loads.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
    ExecutorService executor = Executors.newFixedThreadPool(4);
    server.setExecutor(executor);
    server.createContext("/", exchange -> {
      try (exchange; OutputStream body = exchange.getResponseBody()) {
        exchange.getRequestBody().readAllBytes();
        exchange.getResponseHeaders().set("Content-Type", "text/plain");
        exchange.sendResponseHeaders(200, BODY.length);
        body.write(BODY);
      }
    });
    server.start();
    return new LoadUpstream(server, executor);
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** A port free on 127.0.0.1 now (another process may take it before it is used). */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
