package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.quota.LeaseLedger.Grant;
import dev.tollgate.cluster.quota.LeaseLedger.HeldLease;
import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The entity-side book of leases for one consumer's rate limit (such as 100 per second with a burst
 * of 200): a lease's tokens are taken from a {@link TokenBucket}, and returned tokens go back into
 * it. The leases are sized like {@link LeaseLedger}'s, from what the bucket has available.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>Safety: tokens granted minus tokens returned over any span obey the bucket: at most the
 *       burst plus the rate times the span. Nodes admit only from leases, which live at most one
 *       lease time-to-live, so their admissions over a span {@code d} are at most {@code burst +
 *       rate × (d + time-to-live)}.
 *   <li>A release settles the node's leases up to and including the named lease id, and gives back
 *       at most what they hold; repeating it gives back nothing. Expired leases give nothing back.
 *   <li>Grants carry window id 0: a rate limit has no windows.
 * </ul>
 *
 * <p>Not persisted: after the entity moves, the bucket starts full as any new bucket does, so nodes'
 * leases still outstanding from before can add at most what they held. Not thread-safe: owned by
 * one entity. The bucket refills on its own nanos clock; leases expire by the {@code now} of each
 * call.
 */
public final class RateLeaseLedger {

  private final TokenBucket bucket;
  private final Terms terms;
  private final HeldLeases leases = new HeldLeases(List.of());
  private final LeaseSizing sizing;
  private long lastLeaseId;

  public RateLeaseLedger(TokenBucket bucket, Terms terms) {
    this.bucket = Objects.requireNonNull(bucket, "bucket");
    this.terms = Objects.requireNonNull(terms, "terms");
    this.sizing = new LeaseSizing(terms);
  }

  /** Hands {@code node} a lease of at most {@code wanted} tokens taken from the bucket. */
  public Grant grant(String node, long wanted, long recentDemandPerSecond, Instant now) {
    Objects.requireNonNull(node, "node");
    requireNotNegative(wanted, "wanted");
    requireNotNegative(recentDemandPerSecond, "recentDemandPerSecond");
    expire(now);
    long size = sizing.size(wanted, recentDemandPerSecond, bucket.available());
    long taken = bucket.take(size);
    if (taken == 0) {
      return new Grant(0, 0, now, 0);
    }
    lastLeaseId++;
    Instant expiresAt = now.plus(terms.leaseTimeToLive());
    leases.add(new HeldLease(node, lastLeaseId, taken, expiresAt));
    return new Grant(lastLeaseId, taken, expiresAt, 0);
  }

  /**
   * Settles {@code node}'s leases with ids up to and including {@code leaseId}; of what they hold,
   * {@code unusedTokens} (at most) go back into the bucket.
   */
  public void release(String node, long leaseId, long unusedTokens, Instant now) {
    Objects.requireNonNull(node, "node");
    requireNotNegative(unusedTokens, "unusedTokens");
    expire(now);
    bucket.giveBack(Math.min(unusedTokens, leases.settle(node, leaseId)));
  }

  /** Forgets leases past their expiry; their tokens stay taken. */
  public void expire(Instant now) {
    leases.expire(Objects.requireNonNull(now, "now"));
  }

  /** Tokens the bucket could grant now. */
  public long available() {
    return bucket.available();
  }

  /** The bucket's capacity: the burst. */
  public long capacity() {
    return bucket.capacity();
  }

  /** Tokens added per period. */
  public long requests() {
    return bucket.requests();
  }

  /**
   * How long until an ask is worth it: until the bucket holds {@link Terms#worthAsking()} tokens (or
   * is full, if it holds fewer). A node refused for lack of tokens waits this long before asking
   * again, rather than asking for every token as it trickles in.
   */
  public Duration untilWorthAsking() {
    return bucket.timeUntil(Math.min(bucket.capacity(), terms.worthAsking()));
  }

  /** How long until the bucket is full again, if nothing more is taken. */
  public Duration untilFull() {
    return bucket.timeUntil(bucket.capacity());
  }

  /** Tokens in leases not yet returned or expired, as of the last call. */
  public long outstanding() {
    return leases.tokens();
  }

  /** Tokens in leases neither returned nor expired at {@code now}; forgets none of them. */
  public long outstanding(Instant now) {
    return leases.tokens() - leases.tokensExpiredBy(Objects.requireNonNull(now, "now"));
  }

  /** How long until the bucket has a token again; for Retry-After when a node is out of tokens. */
  public Duration retryAfter() {
    return bucket.timeUntil(1);
  }

  private static void requireNotNegative(long value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: 0 or more)");
    }
  }
}
