package dev.tollgate.cluster.upstream;

/**
 * The sliding time window a breaker judges by: {@value #BUCKETS} buckets of {@code window / 10}
 * each, holding how many calls ended and how many of them failed. A bucket older than the window
 * counts for nothing and is reused, so the window slides in steps of a tenth of its length and
 * costs a fixed, small amount of memory however many calls it sees. Not thread-safe: its guard owns it.
 */
final class BreakerWindow {

  static final int BUCKETS = 10;

  private final long bucketMillis;
  private final long[] calls = new long[BUCKETS];
  private final long[] failures = new long[BUCKETS];
  /** The bucket number ({@code now / bucketMillis}) each slot holds; -1 for none. */
  private final long[] slotOf = new long[BUCKETS];

  BreakerWindow(long windowMillis) {
    if (windowMillis <= 0) {
      throw new IllegalArgumentException("window must be positive: " + windowMillis);
    }
    this.bucketMillis = Math.max(1, windowMillis / BUCKETS);
    clear();
  }

  /** Adds {@code calls} calls that ended by {@code nowMillis}, {@code failures} of them failed. */
  void record(long nowMillis, long calls, long failures) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    int slot = (int) Math.floorMod(bucket, (long) BUCKETS);
    if (slotOf[slot] != bucket) {
      slotOf[slot] = bucket;
      this.calls[slot] = 0;
      this.failures[slot] = 0;
    }
    this.calls[slot] += calls;
    this.failures[slot] += failures;
  }

  /** The calls that ended within the window up to {@code nowMillis}. */
  long calls(long nowMillis) {
    return sum(calls, nowMillis);
  }

  /** The failed calls within the window up to {@code nowMillis}. */
  long failures(long nowMillis) {
    return sum(failures, nowMillis);
  }

  /**
   * Whether the window trips the breaker: at least {@code minimumCalls} calls, of which at least
   * {@code failureRatePercent} % failed.
   */
  boolean trips(long nowMillis, int minimumCalls, int failureRatePercent) {
    long c = calls(nowMillis);
    return c >= minimumCalls && c > 0 && failures(nowMillis) * 100 >= (long) failureRatePercent * c;
  }

  /** Forgets every call: a breaker that closes starts from a clean window. */
  void clear() {
    for (int i = 0; i < BUCKETS; i++) {
      slotOf[i] = -1;
      calls[i] = 0;
      failures[i] = 0;
    }
  }

  private long sum(long[] counts, long nowMillis) {
    long newest = Math.floorDiv(nowMillis, bucketMillis);
    long total = 0;
    for (int i = 0; i < BUCKETS; i++) {
      long age = newest - slotOf[i];
      if (slotOf[i] >= 0 && age >= 0 && age < BUCKETS) {
        total += counts[i];
      }
    }
    return total;
  }
}
