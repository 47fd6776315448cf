package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.util.Objects;

/**
 * How big the next lease is: the asking node's recent demand over the renewal horizon, and never
 * more than what remains. Leases are not split evenly between nodes: the budget is the consumer's,
 * whichever node its requests reach, so a node gets what its own traffic will spend within the
 * horizon. A node whose traffic stops holds at most one horizon's worth of its former demand, and
 * gives it back when idle. Stateless.
 *
 * <p>Who gets the end of a budget depends on how often the end comes. A token bucket, or a window
 * shorter than {@link LeaseLedger#SHARED_END_FROM}, ends every second or so: its last tokens go to
 * the first node that asks, which keeps each end to one or two asks instead of a tail of ever
 * smaller ones that requests would wait for. A quota's end comes once per window, and refusing a
 * consumer who has budget left is then a visible error: a node that took the last tokens while
 * another node's requests came a moment later would have that node answer 429 although the
 * consumer had not spent the quota. So a lease is also at most what remains shared by the asker
 * and the other nodes that hold a lease, and at least one token: the end of a quota is a tail of
 * small asks, each node getting a part.
 */
final class LeaseSizing {

  private final Terms terms;

  LeaseSizing(Terms terms) {
    this.terms = Objects.requireNonNull(terms, "terms");
  }

  /** The size of a lease for a node that saw {@code demandPerSecond}: at most {@code wanted} and {@code remaining}. */
  long size(long wanted, long demandPerSecond, long remaining) {
    // Sizing only, never safety: a double is precise enough here.
    double horizonSeconds = terms.renewalHorizon().toNanos() / 1e9;
    long forDemand = Math.max(1, (long) Math.ceil(demandPerSecond * horizonSeconds));
    return Math.min(wanted, Math.min(forDemand, remaining));
  }

  /**
   * Like {@link #size(long, long, long)}, but at most {@code remaining} shared by the asker and
   * {@code otherHolders} other nodes holding a lease (one token at least, while any remain).
   */
  long sizeOfShare(long wanted, long demandPerSecond, long remaining, int otherHolders) {
    long share = remaining == 0 ? 0 : Math.max(1, remaining / (1L + otherHolders));
    return size(wanted, demandPerSecond, share);
  }
}
