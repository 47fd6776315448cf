package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.util.Objects;

/**
 * How big the next lease is: the asking node's recent demand over the renewal horizon, and never
 * more than what remains. Leases are not split evenly between nodes: the budget is the consumer's,
 * whichever node its requests reach, so a node gets what its own traffic will spend within the
 * horizon, and the last tokens go to the first node that asks for them. That keeps the end of a
 * budget to one or two asks instead of a tail of ever smaller ones, each of which requests would
 * wait for. A node whose traffic stops holds at most one horizon's worth of its former demand, and
 * gives it back when idle. Stateless.
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
}
