package dev.tollgate.config;

import java.util.Objects;

/** What the consistent-hash balancer hashes: a request header, a cookie, or the client IP. */
public record HashKey(Source source, String name) {

  public enum Source { HEADER, COOKIE, CLIENT_IP }

  public HashKey {
    Objects.requireNonNull(source, "source");
    if (source == Source.CLIENT_IP) {
      name = "";
    } else if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a " + source + " hash key needs a name");
    }
  }

  public static HashKey header(String name) {
    return new HashKey(Source.HEADER, name);
  }

  public static HashKey cookie(String name) {
    return new HashKey(Source.COOKIE, name);
  }

  public static HashKey clientIp() {
    return new HashKey(Source.CLIENT_IP, "");
  }
}
