package dev.tollgate.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One limit of a plan or a route: at most {@code requests} per {@code per}.
 *
 * <p>Without {@code burst} it is a <em>window</em>: the UTC-aligned window of length {@code per}
 * (or the UTC calendar month for {@code per: month}) admits at most {@code requests}, exactly, across
 * the whole cluster; windows are durable. With {@code burst} it is a <em>token bucket</em>: up to
 * {@code burst} at once, refilled at {@code requests} per {@code per}; buckets live in memory.
 *
 * @param per the period as written in the configuration, such as {@code 1s}, {@code day} or {@code
 *     month}
 * @param length the period's fixed length; empty only for {@code month}
 */
public record Limit(long requests, String per, Optional<Duration> length, OptionalLong burst) {

  public Limit {
    Objects.requireNonNull(per, "per");
    Objects.requireNonNull(length, "length");
    Objects.requireNonNull(burst, "burst");
    if (requests < 1) {
      throw new IllegalArgumentException("requests: " + requests + " (expected: at least 1)");
    }
    if (length.isEmpty() && burst.isPresent()) {
      throw new IllegalArgumentException("a token bucket needs a fixed period, not " + per);
    }
  }

  /** A window of {@code requests} per {@code length}. */
  public static Limit window(long requests, String per, Duration length) {
    return new Limit(requests, per, Optional.of(length), OptionalLong.empty());
  }

  /** A window of {@code requests} per UTC calendar month. */
  public static Limit perMonth(long requests) {
    return new Limit(requests, "month", Optional.empty(), OptionalLong.empty());
  }

  /** A token bucket of {@code burst} tokens refilled at {@code requests} per {@code length}. */
  public static Limit bucket(long requests, String per, Duration length, long burst) {
    return new Limit(requests, per, Optional.of(length), OptionalLong.of(burst));
  }

  public boolean isBucket() {
    return burst.isPresent();
  }

  /**
   * Names this limit among the limits of one plan or route: the kind and the period, not the number
   * of requests, so that raising a quota keeps what was already spent. No two limits of one list
   * share an id.
   */
  public String id() {
    String period = length.map(d -> d.getSeconds() + "s").orElse("month");
    return (isBucket() ? "bucket/" : "window/") + period;
  }
}
