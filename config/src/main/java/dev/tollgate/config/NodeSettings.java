package dev.tollgate.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Settings of one node (ports, limits, pools), from HOCON: {@code reference.conf} defaults, an
 * optional file, {@code TOLLGATE_...} environment variables and {@code -D} system properties. See
 * {@link NodeSettingsLoader}.
 */
public record NodeSettings(Proxy proxy, UpstreamPool upstreamPool, Cluster cluster, Duration shutdownGrace) {

  public NodeSettings {
    Objects.requireNonNull(proxy, "proxy");
    Objects.requireNonNull(upstreamPool, "upstreamPool");
    Objects.requireNonNull(cluster, "cluster");
    Objects.requireNonNull(shutdownGrace, "shutdownGrace");
  }

  /**
   * Membership of the node in the Pekko cluster.
   *
   * @param host the address of this node's remoting as other nodes reach it
   * @param port its port; 0 picks a free one
   * @param seeds other members as {@code host:port}; empty means this node forms a cluster of one
   * @param downAfter how long a member stays unreachable before the split-brain resolver downs it
   */
  public record Cluster(String host, int port, List<String> seeds, Duration downAfter) {
    public Cluster {
      Objects.requireNonNull(host, "host");
      seeds = List.copyOf(Objects.requireNonNull(seeds, "seeds"));
      Objects.requireNonNull(downAfter, "downAfter");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
    }

    public Cluster withPort(int p) {
      return new Cluster(host, p, seeds, downAfter);
    }

    public Cluster withSeeds(List<String> s) {
      return new Cluster(host, port, s, downAfter);
    }

    public Cluster withDownAfter(Duration d) {
      return new Cluster(host, port, seeds, d);
    }
  }

  /**
   * The proxy listener and the limits every request meets.
   *
   * @param maxBodyBytes the default body limit of routes that set none (413 above it)
   * @param maxHeaderBytes the largest total size of all request header lines (431 above it)
   * @param maxUriLength the longest request target (414 above it)
   * @param headerReadTimeout a request head must arrive whole within this time of its first byte (408)
   * @param idleTimeout a client connection idle this long is closed
   * @param trustedProxies peers whose {@code X-Forwarded-*} and {@code Forwarded} headers are believed
   * @param requestIdHeader the header that carries the request id
   */
  public record Proxy(
      String host,
      int port,
      long maxBodyBytes,
      int maxHeaderBytes,
      int maxUriLength,
      Duration headerReadTimeout,
      Duration idleTimeout,
      List<CidrRange> trustedProxies,
      String requestIdHeader) {

    public Proxy {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(headerReadTimeout, "headerReadTimeout");
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      trustedProxies = List.copyOf(Objects.requireNonNull(trustedProxies, "trustedProxies"));
      Objects.requireNonNull(requestIdHeader, "requestIdHeader");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
    }

    public Proxy withHost(String h) {
      return new Proxy(h, port, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader);
    }

    public Proxy withPort(int p) {
      return new Proxy(host, p, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader);
    }

    public Proxy withHeaderReadTimeout(Duration d) {
      return new Proxy(host, port, maxBodyBytes, maxHeaderBytes, maxUriLength, d, idleTimeout, trustedProxies, requestIdHeader);
    }

    public Proxy withMaxBodyBytes(long b) {
      return new Proxy(host, port, b, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader);
    }

    public Proxy withTrustedProxies(List<CidrRange> t) {
      return new Proxy(host, port, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, t, requestIdHeader);
    }
  }

  /**
   * Connection pools towards upstream targets, one pool per target.
   *
   * @param maxConnections open connections per target at most
   * @param queueSize requests waiting for a connection per target at most; beyond it, 503
   */
  public record UpstreamPool(int maxConnections, int queueSize) {
    public UpstreamPool {
      if (maxConnections < 1) {
        throw new IllegalArgumentException("maxConnections must be at least 1");
      }
      if (queueSize < 1) {
        throw new IllegalArgumentException("queueSize must be at least 1");
      }
    }
  }

  public NodeSettings withProxy(Proxy p) {
    return new NodeSettings(p, upstreamPool, cluster, shutdownGrace);
  }

  public NodeSettings withCluster(Cluster c) {
    return new NodeSettings(proxy, upstreamPool, c, shutdownGrace);
  }

  public NodeSettings withShutdownGrace(Duration d) {
    return new NodeSettings(proxy, upstreamPool, cluster, d);
  }
}
