package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.quota.LeaseLedger.HeldLease;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** The leases of one book that nodes hold and have not returned. Not thread-safe. */
final class HeldLeases {

  private final List<HeldLease> leases = new ArrayList<>();

  HeldLeases(List<HeldLease> restored) {
    leases.addAll(restored);
  }

  void add(HeldLease lease) {
    leases.add(lease);
  }

  /** Removes {@code node}'s leases with ids up to and including {@code leaseId}; returns their tokens. */
  long settle(String node, long leaseId) {
    long tokens = 0;
    for (Iterator<HeldLease> it = leases.iterator(); it.hasNext(); ) {
      HeldLease lease = it.next();
      if (lease.node().equals(node) && lease.leaseId() <= leaseId) {
        tokens += lease.tokens();
        it.remove();
      }
    }
    return tokens;
  }

  /** Removes the leases whose expiry is not after {@code now}; returns their tokens. */
  long expire(Instant now) {
    long tokens = 0;
    for (Iterator<HeldLease> it = leases.iterator(); it.hasNext(); ) {
      HeldLease lease = it.next();
      if (!lease.expiresAt().isAfter(now)) {
        tokens += lease.tokens();
        it.remove();
      }
    }
    return tokens;
  }

  /** The tokens of the leases whose expiry is not after {@code now}, removing none of them. */
  long tokensExpiredBy(Instant now) {
    long tokens = 0;
    for (HeldLease lease : leases) {
      if (!lease.expiresAt().isAfter(now)) {
        tokens += lease.tokens();
      }
    }
    return tokens;
  }

  /** How many nodes other than {@code node} hold a lease. */
  int holdersOtherThan(String node) {
    Set<String> holders = new HashSet<>();
    for (HeldLease lease : leases) {
      if (!lease.node().equals(node)) {
        holders.add(lease.node());
      }
    }
    return holders.size();
  }

  long tokens() {
    long sum = 0;
    for (HeldLease lease : leases) {
      sum += lease.tokens();
    }
    return sum;
  }

  void clear() {
    leases.clear();
  }

  List<HeldLease> toList() {
    return List.copyOf(leases);
  }
}
