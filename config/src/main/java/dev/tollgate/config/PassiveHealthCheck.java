package dev.tollgate.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Ejection of a target from the balancer after {@code consecutiveFailures} failed requests in a row
 * (connect failure, reset, timeout, or a 502/503/504 answer) for {@code ejectionTime}; 0 failures
 * turns passive ejection off.
 */
public record PassiveHealthCheck(int consecutiveFailures, Duration ejectionTime) {

  public static final PassiveHealthCheck DEFAULT = new PassiveHealthCheck(5, Duration.ofSeconds(30));

  public static final PassiveHealthCheck OFF = new PassiveHealthCheck(0, Duration.ofSeconds(30));

  public PassiveHealthCheck {
    Objects.requireNonNull(ejectionTime, "ejectionTime");
    if (consecutiveFailures < 0) {
      throw new IllegalArgumentException("consecutiveFailures must not be negative");
    }
  }

  public boolean enabled() {
    return consecutiveFailures > 0;
  }
}
