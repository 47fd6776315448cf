package dev.tollgate.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Periodic probing of each target with {@code GET path}. A target turns unhealthy after
 * {@code unhealthyThreshold} failed probes in a row, and healthy again after {@code healthyThreshold}
 * good ones. A probe is good when it answers within {@code timeout} with an expected status.
 */
public record ActiveHealthCheck(
    String path,
    Duration interval,
    Duration timeout,
    int healthyThreshold,
    int unhealthyThreshold,
    List<StatusRange> expectedStatuses) {

  public static final List<StatusRange> DEFAULT_EXPECTED = List.of(new StatusRange(200, 399));

  public ActiveHealthCheck {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(timeout, "timeout");
    expectedStatuses = List.copyOf(Objects.requireNonNull(expectedStatuses, "expectedStatuses"));
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("path must start with /: " + path);
    }
    if (healthyThreshold < 1 || unhealthyThreshold < 1) {
      throw new IllegalArgumentException("thresholds must be at least 1");
    }
  }

  public static ActiveHealthCheck of(String path, Duration interval) {
    return new ActiveHealthCheck(path, interval, Duration.ofSeconds(2), 2, 3, DEFAULT_EXPECTED);
  }

  public boolean expects(int status) {
    for (StatusRange r : expectedStatuses) {
      if (r.contains(status)) {
        return true;
      }
    }
    return false;
  }
}
