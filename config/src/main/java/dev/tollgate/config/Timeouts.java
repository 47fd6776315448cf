package dev.tollgate.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Upstream timeouts.
 *
 * @param connect to open a TCP (and TLS) connection to a target
 * @param response from sending the request until the response headers arrive; exceeded gives 504
 * @param idle an upstream connection unused this long is closed
 */
public record Timeouts(Duration connect, Duration response, Duration idle) {

  public static final Timeouts DEFAULT =
      new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(60));

  public Timeouts {
    positive(connect, "connect");
    positive(response, "response");
    positive(idle, "idle");
  }

  private static void positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + d);
    }
  }
}
