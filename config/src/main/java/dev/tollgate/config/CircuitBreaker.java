package dev.tollgate.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The cluster-wide circuit breaker of each target of an upstream. The target's guard folds the
 * outcomes every node reports into one sliding window of {@code window}; when it holds at least
 * {@code minimumCalls} calls and at least {@code failureRatePercent} % of them failed (connect
 * failure, reset, timeout, or a 502/503/504 answer), the breaker opens and no node sends the target
 * requests for {@code openDuration}. It then turns half-open: the cluster as a whole sends exactly
 * {@code halfOpenProbes} requests, and closes the breaker when all succeed or opens it again when
 * one fails.
 *
 * @param enabled false turns the breaker off for this upstream (its targets never open)
 */
public record CircuitBreaker(
    boolean enabled,
    int failureRatePercent,
    int minimumCalls,
    Duration window,
    Duration openDuration,
    int halfOpenProbes) {

  public static final CircuitBreaker DEFAULT =
      new CircuitBreaker(true, 50, 20, Duration.ofSeconds(10), Duration.ofSeconds(30), 3);

  public static final CircuitBreaker OFF = new CircuitBreaker(false, DEFAULT.failureRatePercent, DEFAULT.minimumCalls,
      DEFAULT.window, DEFAULT.openDuration, DEFAULT.halfOpenProbes);

  public CircuitBreaker {
    Objects.requireNonNull(window, "window");
    Objects.requireNonNull(openDuration, "openDuration");
    if (failureRatePercent < 1 || failureRatePercent > 100) {
      throw new IllegalArgumentException("failureRatePercent must be within 1 to 100");
    }
    if (minimumCalls < 1) {
      throw new IllegalArgumentException("minimumCalls must be at least 1");
    }
    if (halfOpenProbes < 1) {
      throw new IllegalArgumentException("halfOpenProbes must be at least 1");
    }
    if (window.isNegative() || window.isZero() || openDuration.isNegative() || openDuration.isZero()) {
      throw new IllegalArgumentException("window and openDuration must be positive");
    }
  }
}
