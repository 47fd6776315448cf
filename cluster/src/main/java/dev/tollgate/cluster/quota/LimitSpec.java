package dev.tollgate.cluster.quota;

import dev.tollgate.config.Limit;
import java.time.Duration;
import java.util.Objects;

/**
 * A limit as it travels in {@link ConsumerQuota} messages: enough for the entity to open the right
 * book without the node's configuration. The entity keys its books by {@link #id()}, so a limit
 * whose number of requests changes keeps what was already spent.
 *
 * @param burst the bucket's capacity, or 0 for a window
 */
public record LimitSpec(String id, long requests, String per, long burst) {

  public LimitSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(per, "per");
  }

  public static LimitSpec of(Limit limit) {
    return new LimitSpec(limit.id(), limit.requests(), limit.per(), limit.burst().orElse(0));
  }

  public boolean isBucket() {
    return burst > 0;
  }

  /** The window this limit counts in; only for windows. */
  public CalendarWindow window() {
    return CalendarWindow.of(per);
  }

  /** The refill period of a bucket. */
  public Duration period() {
    return Objects.requireNonNull(window().length(), "a bucket has a fixed period");
  }
}
