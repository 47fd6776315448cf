package dev.tollgate.cluster.quota;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * The node-side holder of one consumer's lease for one quota: request threads admit from it with a
 * single atomic decrement, and the node asks the {@link LeaseLedger} for the next grant in the
 * background once {@link #wantsRenewal()} says so.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>Across all threads, {@link #tryAcquire()} admits at most the tokens accepted from grants,
 *       minus what {@link #drainUnused()} took; it admits nothing once the lease has expired.
 *   <li>Grants of the same window top up the tokens and move the expiry to the newest grant's; a
 *       grant of a later window voids what is left of the earlier one (it was not granted for this
 *       window), and a grant of an earlier window is ignored.
 *   <li>{@link #drainUnused()} reports the tokens it took together with the newest lease id they
 *       came from, read atomically with respect to {@link #accept}, so the ledger settles exactly the
 *       leases those tokens belong to.
 * </ul>
 *
 * <p>{@link #tryAcquire()}, {@link #remaining()}, {@link #recordDemand()} and {@link
 * #demandPerSecond()} are lock-free; {@link #accept} and {@link #drainUnused()} (once per grant)
 * take this object's lock.
 */
public final class LocalLease {

  /**
   * What {@link #drainUnused()} took: hand it to {@link LeaseLedger#release} as {@code (leaseId,
   * tokens)}. A lease id of 0 means nothing was ever granted.
   */
  public record Unused(long leaseId, long windowId, long tokens) {}

  /** What this lease admitted in a window it no longer serves. */
  public record ClosedWindow(long windowId, long admitted) {}

  private static final int SLOTS = 10;
  private static final int COUNT_BITS = 24;
  private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;

  private final LongSupplier nanoClock;
  private final double lowWaterFraction;
  private final long renewalLeadNanos;
  private final long slotNanos;
  private final long startNanos;

  private final AtomicLong tokens = new AtomicLong();
  /** Moves on whenever tokens are voided or drained, so a refund of a token from before is dropped. */
  private volatile long generation;
  private volatile long expiresAtNanos;
  private volatile long lastGrantTokens;
  private long leaseId;
  private volatile long windowId = Long.MIN_VALUE;
  /** Tokens granted for the current window, and taken back by drains; guarded by this. */
  private long grantedInWindow;
  private long drainedInWindow;
  /** Per slot: the slot number in the high bits, the requests seen in it in the low COUNT_BITS. */
  private final AtomicLongArray demand = new AtomicLongArray(SLOTS);

  /**
   * Renews below half of the last grant (the ask then has half a lease of the node's demand to
   * come back in, 125 ms with the default 250 ms leases) or within 1 s of expiry; measures demand
   * over 1 s.
   */
  public LocalLease(LongSupplier nanoClock) {
    this(nanoClock, 0.5, Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  /**
   * @param lowWaterFraction renew when fewer than this fraction of the last grant's tokens remain
   * @param renewalLead renew when the lease expires within this
   * @param demandWindow how far back {@link #demandPerSecond()} looks, in ten slots
   */
  public LocalLease(LongSupplier nanoClock, double lowWaterFraction, Duration renewalLead, Duration demandWindow) {
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    if (!(lowWaterFraction >= 0 && lowWaterFraction <= 1)) {
      throw new IllegalArgumentException("lowWaterFraction: " + lowWaterFraction + " (expected: 0 to 1)");
    }
    this.lowWaterFraction = lowWaterFraction;
    this.renewalLeadNanos = Objects.requireNonNull(renewalLead, "renewalLead").toNanos();
    this.slotNanos = Objects.requireNonNull(demandWindow, "demandWindow").toNanos() / SLOTS;
    if (slotNanos <= 0) {
      throw new IllegalArgumentException("demandWindow: " + demandWindow + " (expected: a positive duration)");
    }
    this.startNanos = nanoClock.getAsLong();
    this.expiresAtNanos = startNanos;
  }

  /**
   * Takes in a grant from the ledger.
   *
   * @param now the node's wall-clock time, to turn the grant's expiry into the nanos clock
   */
  public synchronized void accept(LeaseLedger.Grant grant, Instant now) {
    acceptCounting(grant, now);
  }

  /**
   * As {@link #accept}, and if the grant opens a later window, returns how many requests this lease
   * admitted in the window it closes: granted, minus drained, minus left unused. Otherwise null.
   */
  public synchronized ClosedWindow acceptCounting(LeaseLedger.Grant grant, Instant now) {
    Objects.requireNonNull(grant, "grant");
    if (grant.tokens() <= 0 || grant.windowId() < windowId) {
      return null;
    }
    long deadline = nanoClock.getAsLong() + Duration.between(now, grant.expiresAt()).toNanos();
    ClosedWindow closed = null;
    if (grant.windowId() > windowId) {
      generation++;
      long left = Math.max(0, tokens.getAndSet(grant.tokens()));
      if (windowId != Long.MIN_VALUE) {
        closed = new ClosedWindow(windowId, grantedInWindow - drainedInWindow - left);
      }
      windowId = grant.windowId();
      grantedInWindow = grant.tokens();
      drainedInWindow = 0;
    } else {
      tokens.addAndGet(grant.tokens());
      grantedInWindow += grant.tokens();
    }
    leaseId = Math.max(leaseId, grant.leaseId());
    lastGrantTokens = grant.tokens();
    expiresAtNanos = deadline;
    return closed;
  }

  /** The window of the newest grant taken in, or {@code Long.MIN_VALUE} before the first. */
  public long windowId() {
    return windowId;
  }

  /** The window of the newest grant, and how many requests this lease admitted in it so far. */
  public synchronized long[] admittedInWindow() {
    return new long[] {windowId, grantedInWindow - drainedInWindow - Math.max(0, tokens.get())};
  }

  /** Admits one request if a token is left and the lease has not expired. */
  public boolean tryAcquire() {
    if (nanoClock.getAsLong() - expiresAtNanos >= 0) {
      return false;
    }
    long left;
    do {
      left = tokens.get();
      if (left <= 0) {
        return false;
      }
    } while (!tokens.compareAndSet(left, left - 1));
    return true;
  }

  /**
   * A stamp to read before {@link #tryAcquire()}, for {@link #refund(long)}: it changes when the
   * tokens are voided by a later window or drained.
   */
  public long generation() {
    return generation;
  }

  /**
   * Puts back one token taken by {@link #tryAcquire()} but not used (another limit refused the
   * request), unless the tokens were voided or drained since {@code generation} was read: then the
   * token is lost, which errs towards admitting less.
   */
  public synchronized void refund(long generation) {
    if (generation == this.generation) {
      tokens.incrementAndGet();
    }
  }

  /** Tokens left to admit; 0 once expired. */
  public long remaining() {
    return nanoClock.getAsLong() - expiresAtNanos >= 0 ? 0 : Math.max(0, tokens.get());
  }

  /**
   * Whether to ask for the next grant now: fewer than the low-water fraction of the last grant is
   * left, or the lease expires within the renewal lead (or never was granted).
   */
  public boolean wantsRenewal() {
    return expiresSoon() || runningLow();
  }

  /** Whether the lease expires within the renewal lead (or never was granted). */
  public boolean expiresSoon() {
    return expiresAtNanos - nanoClock.getAsLong() <= renewalLeadNanos;
  }

  /** Whether fewer than the low-water fraction of the last grant's tokens are left. */
  public boolean runningLow() {
    return remaining() < Math.ceil(lastGrantTokens * lowWaterFraction);
  }

  /** Takes every token left, for returning to the ledger; afterwards nothing more is admitted. */
  public synchronized Unused drainUnused() {
    generation++;
    long unused = Math.max(0, tokens.getAndSet(0));
    drainedInWindow += unused;
    return new Unused(leaseId, windowId, unused);
  }

  /** Counts one request that wanted this quota, admitted or not. */
  public void recordDemand() {
    long slot = slotAt(nanoClock.getAsLong());
    int index = (int) (slot % SLOTS);
    long seen;
    long next;
    do {
      seen = demand.get(index);
      if (seen >>> COUNT_BITS > slot) {
        return; // a thread with a later clock reading already moved this slot on
      }
      boolean sameSlot = seen >>> COUNT_BITS == slot;
      long count = sameSlot ? Math.min(COUNT_MASK, (seen & COUNT_MASK) + 1) : 1;
      next = slot << COUNT_BITS | count;
    } while (!demand.compareAndSet(index, seen, next));
  }

  /**
   * Requests per second within the demand window, over the time since the first request seen in it
   * (at least one slot): traffic that starts after a quiet spell is measured at its own rate at
   * once, not averaged with the quiet time before it, so the first leases of a burst are sized for
   * the burst.
   */
  public long demandPerSecond() {
    long now = nanoClock.getAsLong();
    long current = slotAt(now);
    long from = Math.max(0, current - SLOTS + 1);
    long sum = 0;
    long earliest = current;
    for (int i = 0; i < SLOTS; i++) {
      long value = demand.get(i);
      long slot = value >>> COUNT_BITS;
      if (slot >= from && slot <= current && (value & COUNT_MASK) > 0) {
        sum += value & COUNT_MASK;
        earliest = Math.min(earliest, slot);
      }
    }
    if (sum == 0) {
      return 0;
    }
    long span = Math.max(slotNanos, now - startNanos - earliest * slotNanos);
    return sum * 1_000_000_000L / span;
  }

  private long slotAt(long nanos) {
    return Math.max(0, nanos - startNanos) / slotNanos;
  }
}
