package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How big the next lease is: the node's recent demand over the renewal horizon, at most what
 * remains shared by the nodes that asked within one lease time-to-live, and one token per ask once
 * what remains is below {@code active nodes × endgame factor}. Never more than what remains.
 * Not thread-safe.
 */
final class LeaseSizing {

  private final Terms terms;
  /** Soft state, not persisted: when each node last asked. */
  private final Map<String, Instant> lastAsked = new HashMap<>();

  LeaseSizing(Terms terms) {
    this.terms = Objects.requireNonNull(terms, "terms");
  }

  /** Records that {@code node} asks now and returns the size of its lease, at most {@code wanted}. */
  long size(String node, long wanted, long demandPerSecond, long remaining, Instant now) {
    long active = noteAsk(node, now);
    if (remaining < active * terms.endgameFactor()) {
      return Math.min(wanted, Math.min(1, remaining));
    }
    // Sizing only, never safety: a double is precise enough here.
    double horizonSeconds = terms.renewalHorizon().toNanos() / 1e9;
    long forDemand = Math.max(1, (long) Math.ceil(demandPerSecond * horizonSeconds));
    return Math.min(wanted, Math.min(forDemand, remaining / active));
  }

  /** How many nodes asked within one lease time-to-live, at least 1. */
  private long noteAsk(String node, Instant now) {
    lastAsked.put(node, now);
    Instant activeSince = now.minus(terms.leaseTimeToLive());
    lastAsked.values().removeIf(asked -> asked.isBefore(activeSince));
    return Math.max(1, lastAsked.size());
  }
}
