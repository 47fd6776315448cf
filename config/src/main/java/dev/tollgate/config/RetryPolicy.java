package dev.tollgate.config;

import java.util.Objects;
import java.util.Set;

/**
 * When a failed attempt is tried again on another target. A retry only happens when the request is
 * safe to repeat: its method is idempotent (or the route allows otherwise) and its body has not
 * been streamed to the failed target.
 *
 * @param max retries after the first attempt, 0 to 10
 * @param on the failures that are retried
 * @param statuses upstream response statuses that are retried (e.g. 502, 503, 504)
 */
public record RetryPolicy(int max, Set<Condition> on, Set<Integer> statuses) {

  /** A failure that may be retried. */
  public enum Condition {
    /** The TCP connection to the target could not be opened. */
    CONNECT_FAILURE("connect-failure"),
    /** The connection was closed or reset before a response arrived. */
    RESET("reset"),
    /** No response headers within the response timeout. */
    TIMEOUT("timeout");

    private final String configName;

    Condition(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }
  }

  public static final int MAX_RETRIES = 10;

  public static final RetryPolicy DEFAULT =
      new RetryPolicy(2, Set.of(Condition.CONNECT_FAILURE, Condition.RESET), Set.of());

  public static final RetryPolicy NONE = new RetryPolicy(0, Set.of(), Set.of());

  public RetryPolicy {
    if (max < 0 || max > MAX_RETRIES) {
      throw new IllegalArgumentException("max must be 0.." + MAX_RETRIES + ": " + max);
    }
    on = Set.copyOf(Objects.requireNonNull(on, "on"));
    statuses = Set.copyOf(Objects.requireNonNull(statuses, "statuses"));
  }

  public boolean retries(Condition condition) {
    return max > 0 && on.contains(condition);
  }

  public boolean retriesStatus(int status) {
    return max > 0 && statuses.contains(status);
  }
}
