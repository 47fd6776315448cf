package dev.tollgate.loadtests.ha;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

/**
 * The demo upstream of {@code deploy/local/cluster.sh}: a process of its own on 127.0.0.1 that
 * answers every request with one line of JSON saying who the request came from as the gateway told
 * it ({@code X-Forwarded-For}, {@code Forwarded}), which node sent it ({@code X-Forwarded-Port} is
 * the node's own proxy port) and the consumer header. The HA drill reads these to check the client
 * address through HAProxy and to learn which node a connection reached.
 *
 * <p>{@code tollgate demo}'s upstream runs only inside a demo node, so it cannot serve a cluster;
 * this one is the JDK's HTTP server, which is enough for a few thousand requests a second.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.tollgate.loadtests.ha.EchoUpstream PORT}; stops on
 * SIGTERM.
 */
public final class EchoUpstream {

  private EchoUpstream() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1 || !args[0].matches("\\d{1,5}")) {
      System.err.println("usage: EchoUpstream PORT (listens on 127.0.0.1:PORT)");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    // Without TCP_NODELAY head and body meet delayed ACKs (about 40 ms per keep-alive response).
    // A long idle interval: the nodes' pools close idle connections first (Pekko: 30 s), so a node
    // never sends on a connection this server has just closed, which would be a spurious 502.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    System.setProperty("sun.net.httpserver.idleInterval", "600");
    System.setProperty("sun.net.httpserver.maxIdleConnections", "2048");
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.createContext("/", exchange -> {
      try (exchange; OutputStream body = exchange.getResponseBody()) {
        exchange.getRequestBody().readAllBytes();
        Headers h = exchange.getRequestHeaders();
        byte[] answer = ("{\"path\":" + json(exchange.getRequestURI().getRawPath())
            + ",\"x_forwarded_for\":" + json(h.getFirst("X-Forwarded-For"))
            + ",\"forwarded\":" + json(h.getFirst("Forwarded"))
            + ",\"node_port\":" + json(h.getFirst("X-Forwarded-Port"))
            + ",\"consumer\":" + json(h.getFirst("X-Consumer-Id"))
            + "}\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, answer.length);
        body.write(answer);
      } catch (IOException e) {
        // the node went away mid-answer; nothing to do
      }
    });
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.stop(0);
      stopped.countDown();
    }, "echo-upstream-stop"));
    server.start();
    System.out.println("Echo upstream listening on 127.0.0.1:" + port);
    stopped.await();
  }

  private static String json(String value) {
    if (value == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder(value.length() + 2).append('"');
    for (char c : value.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
