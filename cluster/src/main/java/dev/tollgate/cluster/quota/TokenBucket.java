package dev.tollgate.cluster.quota;

import java.math.BigInteger;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A rate limit such as "100 requests per second with a burst of 200": a bucket of at most {@code
 * capacity} tokens that refills at {@code requests} tokens per {@code per}, and starts full.
 *
 * <p>Invariants: {@code 0 <= available() <= capacity}; refill is computed lazily from the elapsed
 * nanos of the injected clock and keeps the fractional remainder, so refilling in many small steps
 * gives exactly the same tokens as one large step (no drift). A full bucket accumulates nothing.
 *
 * <p>Not thread-safe: a bucket is owned by one entity or one caller.
 */
public final class TokenBucket {

  private final long capacity;
  private final long requests;
  private final long perNanos;
  private final LongSupplier nanoClock;

  private long tokens;
  /** Refill carried over from earlier steps, in units of 1/perNanos of a token; always < perNanos. */
  private long remainder;

  private long lastNanos;

  /**
   * @param capacity the burst: most tokens the bucket holds, at least 1
   * @param requests tokens added per {@code per}, at least 1
   * @param per the refill period, at least 1 ns
   * @param nanoClock a monotonic clock in nanoseconds, such as {@code System::nanoTime}
   */
  public TokenBucket(long capacity, long requests, Duration per, LongSupplier nanoClock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: at least 1)");
    }
    if (requests < 1) {
      throw new IllegalArgumentException("requests: " + requests + " (expected: at least 1)");
    }
    Objects.requireNonNull(per, "per");
    if (per.isNegative() || per.isZero()) {
      throw new IllegalArgumentException("per: " + per + " (expected: a positive duration)");
    }
    this.capacity = capacity;
    this.requests = requests;
    this.perNanos = per.toNanos();
    // Refill arithmetic multiplies a sub-period remainder by requests; it must fit in a long.
    Math.multiplyExact(perNanos, requests + 1);
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.tokens = capacity;
    this.lastNanos = nanoClock.getAsLong();
  }

  public long capacity() {
    return capacity;
  }

  /** Tokens added per refill period. */
  public long requests() {
    return requests;
  }

  /** Tokens that could be taken now. */
  public long available() {
    refill();
    return tokens;
  }

  /** Takes up to {@code wanted} tokens and returns how many it took: between 0 and {@code wanted}. */
  public long take(long wanted) {
    requireNotNegative(wanted, "wanted");
    refill();
    long taken = Math.min(wanted, tokens);
    tokens -= taken;
    return taken;
  }

  /**
   * How long until {@code wanted} tokens are available (zero if they are now); for Retry-After.
   *
   * @throws IllegalArgumentException if {@code wanted} exceeds the capacity: it never will be
   */
  public Duration timeUntil(long wanted) {
    requireNotNegative(wanted, "wanted");
    if (wanted > capacity) {
      throw new IllegalArgumentException(
          "wanted: " + wanted + " (expected: at most the capacity " + capacity + ")");
    }
    refill();
    long missing = wanted - tokens;
    if (missing <= 0) {
      return Duration.ZERO;
    }
    // nanos = ceil((missing * perNanos - remainder) / requests), exact even where it overflows a long
    BigInteger units = BigInteger.valueOf(missing).multiply(BigInteger.valueOf(perNanos))
        .subtract(BigInteger.valueOf(remainder));
    BigInteger[] qr = units.divideAndRemainder(BigInteger.valueOf(requests));
    BigInteger nanos = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
    return ofNanos(nanos);
  }

  /** Puts back tokens that were taken but not used (a returned lease); never above the capacity. */
  public void giveBack(long returned) {
    requireNotNegative(returned, "returned");
    refill();
    tokens = returned >= capacity - tokens ? capacity : tokens + returned;
    if (tokens == capacity) {
      remainder = 0;
    }
  }

  private void refill() {
    long now = nanoClock.getAsLong();
    long elapsed = now - lastNanos;
    lastNanos = now;
    if (elapsed <= 0 || tokens == capacity) {
      remainder = tokens == capacity ? 0 : remainder;
      return;
    }
    long periods = elapsed / perNanos;
    if (periods > capacity / requests) {
      fill();
      return;
    }
    long units = (elapsed % perNanos) * requests + remainder;
    long added = periods * requests + units / perNanos;
    if (added >= capacity - tokens) {
      fill();
      return;
    }
    tokens += added;
    remainder = units % perNanos;
  }

  private void fill() {
    tokens = capacity;
    remainder = 0;
  }

  private static Duration ofNanos(BigInteger nanos) {
    BigInteger[] secondsAndNanos = nanos.divideAndRemainder(BigInteger.valueOf(1_000_000_000L));
    return Duration.ofSeconds(secondsAndNanos[0].longValueExact(), secondsAndNanos[1].longValue());
  }

  private static void requireNotNegative(long value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: 0 or more)");
    }
  }
}
