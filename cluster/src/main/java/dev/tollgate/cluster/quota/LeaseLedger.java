package dev.tollgate.cluster.quota;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The entity-side book of one consumer's budget for one quota in the current window: how much of
 * the limit is consumed, and which node holds which lease. Nodes admit requests from their leases
 * locally; this book decides how big each lease may be so that the nodes together never admit more
 * than the limit.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>Safety: {@code consumed + outstanding <= limit} in every window, so tokens granted minus
 *       tokens returned never exceed the limit. An outstanding lease counts as spent until it is
 *       returned or expires; an expired lease stays spent (its node may have died after admitting
 *       it), so every error is towards under-admission.
 *   <li>A release settles the node's leases up to and including the named lease id: at most what
 *       they still hold comes back, the rest becomes consumed, and repeating the release (or
 *       sending one from a past window) returns nothing.
 *   <li>Lease size is the asking node's recent demand over the renewal horizon, at most the
 *       remaining budget (see {@link LeaseSizing}). In a window of {@link #SHARED_END_FROM} or
 *       longer, also at most the remaining budget shared by the asker and the other nodes that hold
 *       a lease, so that the end of a quota goes to every node with demand; in a shorter window the
 *       last tokens go to the first node that asks.
 *   <li>A lease never outlives its window; when the window changes the book starts fresh and the
 *       old window's leases are void. The window only moves forward, also if a later clock is
 *       behind an earlier one.
 * </ul>
 *
 * <p>Not thread-safe: owned by one entity. Time comes from the {@code now} of each call.
 */
public final class LeaseLedger {

  /** Windows at least this long share the end of their budget between the nodes holding leases. */
  public static final Duration SHARED_END_FROM = Duration.ofMinutes(1);

  /**
   * How leases are cut.
   *
   * @param leaseTimeToLive how long a lease may be used
   * @param renewalHorizon how much of a node's recent demand one lease should cover
   * @param worthAsking a token bucket with nothing to lend is worth asking again once it holds
   *     this many tokens (or is full)
   */
  public record Terms(Duration leaseTimeToLive, Duration renewalHorizon, int worthAsking) {

    /** Five-second leases covering 250 ms of demand. */
    public static final Terms DEFAULT = new Terms(Duration.ofSeconds(5), Duration.ofMillis(250), 4);

    public Terms {
      requirePositive(leaseTimeToLive, "leaseTimeToLive");
      requirePositive(renewalHorizon, "renewalHorizon");
      if (worthAsking < 1) {
        throw new IllegalArgumentException("worthAsking: " + worthAsking + " (expected: at least 1)");
      }
    }

    private static void requirePositive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: a positive duration)");
      }
    }
  }

  /**
   * Tokens handed to a node. A grant of zero tokens carries lease id 0 and creates no lease.
   *
   * @param leaseId increasing over the life of the book (also across windows); name it when
   *     releasing
   */
  public record Grant(long leaseId, long tokens, Instant expiresAt, long windowId) {}

  /** A lease a node holds and has not returned; its tokens count as spent. */
  public record HeldLease(String node, long leaseId, long tokens, Instant expiresAt) {

    public HeldLease {
      Objects.requireNonNull(node, "node");
      Objects.requireNonNull(expiresAt, "expiresAt");
    }
  }

  /**
   * The durable state of a book: restoring it keeps consumed usage, and outstanding leases stay
   * spent (their nodes may still return what they did not use).
   *
   * @param per the window as configured when the snapshot was taken ({@link CalendarWindow#per()})
   */
  public record Snapshot(String per, long windowId, long consumed, long lastLeaseId, List<HeldLease> outstanding) {

    public Snapshot {
      Objects.requireNonNull(per, "per");
      if (consumed < 0 || lastLeaseId < 0) {
        throw new IllegalArgumentException("consumed and lastLeaseId: " + consumed + ", " + lastLeaseId
            + " (expected: 0 or more)");
      }
      outstanding = List.copyOf(Objects.requireNonNull(outstanding, "outstanding"));
    }
  }

  /**
   * The book as {@link #usage} reads it for an instant, without changing it.
   *
   * @param consumed tokens settled as spent in the window: used parts of returned leases, and
   *     leases past their expiry
   * @param leasedOut tokens of leases that nodes hold, neither returned nor expired: some may
   *     already be spent on admitted requests, the rest may still come back
   * @param remaining what may still be granted: {@code limit - consumed - leasedOut}, at least 0
   */
  public record Usage(long windowId, long consumed, long leasedOut, long remaining) {}

  private final long limit;
  private final CalendarWindow window;
  private final Terms terms;

  private long windowId;
  private long consumed;
  private long lastLeaseId;
  private final HeldLeases leases;
  private final LeaseSizing sizing;
  /** Whether this window is long enough to share the end of its budget (see {@link LeaseSizing}). */
  private final boolean sharesTheEnd;

  private LeaseLedger(long limit, CalendarWindow window, Terms terms, Snapshot state) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit: " + limit + " (expected: 0 or more)");
    }
    this.limit = limit;
    this.window = Objects.requireNonNull(window, "window");
    this.terms = Objects.requireNonNull(terms, "terms");
    this.windowId = state.windowId();
    this.consumed = state.consumed();
    this.lastLeaseId = state.lastLeaseId();
    this.leases = new HeldLeases(state.outstanding());
    this.sizing = new LeaseSizing(terms);
    this.sharesTheEnd = window.length() == null || window.length().compareTo(SHARED_END_FROM) >= 0;
  }

  /** A fresh book for the window containing {@code now}. */
  public static LeaseLedger open(long limit, CalendarWindow window, Terms terms, Instant now) {
    return new LeaseLedger(limit, window, terms, new Snapshot(window.per(), window.id(now), 0, 0, List.of()));
  }

  /**
   * The book as it was when {@code snapshot} was taken; the limit may have changed since. If the
   * window itself was reconfigured (say from {@code hour} to {@code month}), window ids are not
   * comparable, so the book starts fresh in the window of its next call; lease ids keep increasing,
   * so releases of the old leases return nothing.
   */
  public static LeaseLedger restore(Snapshot snapshot, long limit, CalendarWindow window, Terms terms) {
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(window, "window");
    if (!snapshot.per().equals(window.per())) {
      snapshot = new Snapshot(window.per(), Long.MIN_VALUE, 0, snapshot.lastLeaseId(), List.of());
    }
    return new LeaseLedger(limit, window, terms, snapshot);
  }

  public Snapshot snapshot() {
    return new Snapshot(window.per(), windowId, consumed, lastLeaseId, leases.toList());
  }

  /**
   * Hands {@code node} a lease of at most {@code wanted} tokens, sized as described on the class.
   *
   * @param recentDemandPerSecond requests per second the node saw lately, used to size the lease
   */
  public Grant grant(String node, long wanted, long recentDemandPerSecond, Instant now) {
    Objects.requireNonNull(node, "node");
    requireNotNegative(wanted, "wanted");
    requireNotNegative(recentDemandPerSecond, "recentDemandPerSecond");
    catchUp(now);
    long size = sharesTheEnd
        ? sizing.sizeOfShare(wanted, recentDemandPerSecond, remaining(), leases.holdersOtherThan(node))
        : sizing.size(wanted, recentDemandPerSecond, remaining());
    if (size == 0) {
      return new Grant(0, 0, now, windowId);
    }
    Instant leaseEnd = now.plus(terms.leaseTimeToLive());
    Instant windowEnd = window.end(now);
    Instant expiresAt = leaseEnd.isBefore(windowEnd) ? leaseEnd : windowEnd;
    lastLeaseId++;
    leases.add(new HeldLease(node, lastLeaseId, size, expiresAt));
    return new Grant(lastLeaseId, size, expiresAt, windowId);
  }

  /**
   * Settles {@code node}'s leases with ids up to and including {@code leaseId}: of what they hold,
   * {@code unusedTokens} (at most) become available again and the rest is consumed.
   */
  public void release(String node, long leaseId, long unusedTokens, Instant now) {
    Objects.requireNonNull(node, "node");
    requireNotNegative(unusedTokens, "unusedTokens");
    catchUp(now);
    long held = leases.settle(node, leaseId);
    consumed += held - Math.min(unusedTokens, held);
  }

  /** Leases past their expiry become consumed: their tokens do not come back. */
  public void expire(Instant now) {
    consumed += leases.expire(Objects.requireNonNull(now, "now"));
  }

  /** If {@code now} is in a later window, starts it fresh: nothing consumed, old leases void. */
  public void roll(Instant now) {
    long id = window.id(Objects.requireNonNull(now, "now"));
    if (id > windowId) {
      windowId = id;
      consumed = 0;
      leases.clear();
    }
  }

  /**
   * The book as it stands at {@code now}, read only: leases past their expiry count as consumed, and
   * a later window than the book's reads as fresh, as {@link #roll} and {@link #expire} would make
   * it, but neither is done.
   */
  public Usage usage(Instant now) {
    long id = window.id(Objects.requireNonNull(now, "now"));
    if (id > windowId) {
      return new Usage(id, 0, 0, limit);
    }
    long expired = leases.tokensExpiredBy(now);
    long spent = consumed + expired;
    long out = leases.tokens() - expired;
    return new Usage(windowId, spent, out, Math.max(0, limit - spent - out));
  }

  public long limit() {
    return limit;
  }

  public long windowId() {
    return windowId;
  }

  /** Tokens settled as spent in this window: used parts of released leases, and expired leases. */
  public long consumed() {
    return consumed;
  }

  /** Tokens in leases not yet returned or expired, as of the last call. */
  public long outstanding() {
    return leases.tokens();
  }

  /** What may still be granted in this window: {@code limit - consumed - outstanding}, at least 0. */
  public long remaining() {
    return Math.max(0, limit - consumed - outstanding());
  }

  private void catchUp(Instant now) {
    roll(now);
    expire(now);
  }

  private static void requireNotNegative(long value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: 0 or more)");
    }
  }
}
