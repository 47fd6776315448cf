package dev.tollgate.config;

import java.util.Objects;

/**
 * One server of an upstream, from its {@code url} ({@code http://host:port} or {@code https://host:port}).
 *
 * @param weight relative share for the weighted balancer, 1 to 1000
 */
public record Target(String scheme, String host, int port, int weight) {

  public static final int MAX_WEIGHT = 1000;

  public Target {
    Objects.requireNonNull(scheme, "scheme");
    Objects.requireNonNull(host, "host");
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("scheme must be http or https: " + scheme);
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    if (weight < 1 || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException("weight must be 1.." + MAX_WEIGHT + ": " + weight);
    }
  }

  public static Target http(String host, int port) {
    return new Target("http", host, port, 1);
  }

  public Target withWeight(int w) {
    return new Target(scheme, host, port, w);
  }

  /** {@code host:port}, the target's identity within an upstream. */
  public String authority() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  public String url() {
    return scheme + "://" + authority();
  }
}
