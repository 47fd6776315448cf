package dev.tollgate.config;

import java.util.List;
import java.util.Objects;

/**
 * A route's own limits, counted per caller of that route, in addition to the caller's plan.
 *
 * @param by who is counted: each consumer (anonymous callers by client IP), or each client IP
 */
public record RouteLimits(Key by, List<Limit> limits, OnUnavailable onUnavailable) {

  /** Who a route's limits count. */
  public enum Key {
    /** The identified consumer; callers without a credential by their client IP. */
    CONSUMER,
    /** The client IP, whoever the consumer. */
    CLIENT_IP
  }

  public RouteLimits {
    Objects.requireNonNull(by, "by");
    limits = List.copyOf(Objects.requireNonNull(limits, "limits"));
    Objects.requireNonNull(onUnavailable, "onUnavailable");
  }
}
