package dev.tollgate.node;

import com.typesafe.config.Config;
import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.demo.DemoUpstream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;

/** {@code tollgate demo}: a node proxying two demo upstreams that run in the same process. */
final class DemoSetup {

  private final GatewayNode node;
  private final List<DemoUpstream> upstreams;

  private DemoSetup(GatewayNode node, List<DemoUpstream> upstreams) {
    this.node = node;
    this.upstreams = upstreams;
  }

  /** The demo's config: the example file's shape, with the ports the demo upstreams got. */
  static String config(int port1, int port2) {
    return """
        upstreams:
          - name: echo
            targets:
              - url: http://127.0.0.1:%d
              - url: http://127.0.0.1:%d
            balancer: round-robin
            timeouts: {response: 2s}
            health_check:
              active: {path: /health, interval: 5s}
        plans:
          - name: trial
            limits:
              - {requests: 5, per: minute}      # a window: at most 5 in each UTC minute, cluster-wide
          - name: open
            limits:
              - {requests: 100, per: 1s, burst: 200}   # a token bucket
        consumers:
          - id: alice
            plan: trial
            api_keys:
              - key: demo-key-alice-0001      # kept only as its SHA-256 digest
        anonymous:
          plan: open                          # callers without a key, per client IP
        routes:
          - name: echo
            match:
              paths: [/echo]        # /echo and everything below it, at a segment boundary
            strip_prefix: true      # /echo/a?b=1 reaches the upstream as /a?b=1
            upstream: echo
        """.formatted(port1, port2);
  }

  static DemoSetup start(NodeSettings settings, Config overrides) throws ConfigException {
    // Start the node with no routes, then route to the demo upstreams once they are bound on free
    // ports inside the node's own actor system.
    GatewayConfig empty = new GatewayConfig(List.of(), List.of());
    GatewayNode node = GatewayNode.start(settings, overrides, empty).toCompletableFuture().join();
    DemoUpstream one = DemoUpstream.start(node.system(), "demo-upstream-1", "127.0.0.1", 0).toCompletableFuture().join();
    DemoUpstream two = DemoUpstream.start(node.system(), "demo-upstream-2", "127.0.0.1", 0).toCompletableFuture().join();
    node.apply(ConfigLoader.parse(config(one.address().getPort(), two.address().getPort()), "demo"));
    return new DemoSetup(node, List.of(one, two));
  }

  void printWelcome(PrintStream out) {
    InetSocketAddress a = node.proxyAddress();
    String base = "http://" + (a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress()) + ":" + a.getPort();
    out.println();
    out.println("Tollgate demo is running: a node on " + base + " in front of two demo upstreams");
    upstreams.forEach(u -> out.println("  " + u.name() + " on 127.0.0.1:" + u.address().getPort()));
    out.println("Route 'echo': " + base + "/echo/... is forwarded, without /echo, to them in turn.");
    out.println();
    out.println("Try:");
    out.println("  curl -s " + base + "/echo/hello?name=tollgate      # the upstream describes what it got; run it twice to see both upstreams");
    out.println("  curl -s -H 'X-Forwarded-For: 6.6.6.6' " + base + "/echo/who   # a spoofed X-Forwarded-For is replaced");
    out.println("  curl -si " + base + "/nowhere                      # no route: 404 with an application/problem+json body");
    out.println("  curl -si -H 'X-Api-Key: demo-key-alice-0001' " + base + "/echo/hi   # consumer alice, plan 'trial':"
        + " RateLimit headers; the 6th call in a minute gets 429");
    out.println("  curl -si -H 'X-Api-Key: wrong-key-0000' " + base + "/echo/hi        # an unknown key: 401");
    node.adminAddress().ifPresent(admin -> {
      String api = "http://" + admin.getAddress().getHostAddress() + ":" + admin.getPort();
      out.println();
      out.println("Admin API on " + api + " (consumers and API keys of the directory, kept in the node's database):");
      out.println("  curl -s -H 'Content-Type: application/json' -d '{\"id\": \"bob\", \"plan\": \"trial\"}' " + api
          + "/consumers   # a new consumer");
      out.println("  curl -s -X POST " + api + "/consumers/bob/keys   # a key for bob, shown once: send it as X-Api-Key to "
          + base + "/echo/hi");
      out.println("  curl -s " + api + "/upstreams   # each target's health and circuit breaker, as the cluster decides them");
      upstreams.stream().findFirst().ifPresent(u -> out.println("  curl -s -X POST " + api
          + "/upstreams/echo/targets/127.0.0.1:" + u.address().getPort() + "/forced-open   # no node sends "
          + u.name() + " requests until DELETE releases it"));
    });
    node.metricsAddress().ifPresent(metrics -> {
      out.println();
      out.println("Prometheus metrics of the node:");
      out.println("  curl -s http://" + metrics.getAddress().getHostAddress() + ":" + metrics.getPort()
          + "/metrics | grep '^tollgate_requests_total'   # requests by route and status class");
    });
    out.println();
    out.println("Stop with Ctrl-C.");
  }

  void stop() {
    node.shutdown().toCompletableFuture().join();
  }
}
