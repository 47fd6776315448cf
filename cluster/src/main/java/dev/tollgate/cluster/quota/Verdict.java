package dev.tollgate.cluster.quota;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The answer of {@link QuotaClient#admit}: admitted, limited (429), or unavailable (503, when the
 * entity cannot be reached and the plan says {@code deny}), with what the rate-limit headers show.
 *
 * @param limits every limit that was checked, for {@code RateLimit-Policy} and {@code RateLimit}
 * @param limitedBy the limit that refused, when limited or unavailable
 * @param retryAfter when to try again, when limited or unavailable
 * @param remote whether the decision waited for an answer from an entity
 * @param localShare whether the node admitted from its local share because the entity was unavailable
 */
public record Verdict(
    Outcome outcome, List<LimitStatus> limits, LimitStatus limitedBy, Duration retryAfter, boolean remote, boolean localShare) {

  public enum Outcome { ADMITTED, LIMITED, UNAVAILABLE }

  /**
   * One limit as this node sees it.
   *
   * @param remaining what this node holds plus what the entity had not leased at its last answer
   * @param resetSeconds seconds until the window ends, or the bucket is full again
   */
  public record LimitStatus(String name, long requests, long windowSeconds, long remaining, long resetSeconds) {

    /** This status with nothing remaining: the limit that refused. */
    public LimitStatus spent() {
      return new LimitStatus(name, requests, windowSeconds, 0, resetSeconds);
    }
  }

  public Verdict {
    Objects.requireNonNull(outcome, "outcome");
    limits = List.copyOf(limits);
    Objects.requireNonNull(retryAfter, "retryAfter");
  }

  public boolean admitted() {
    return outcome == Outcome.ADMITTED;
  }
}
