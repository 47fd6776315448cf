package dev.tollgate.config;

/**
 * What a node does for a limit whose {@code ConsumerQuota} entity it cannot reach (a partition, a
 * rebalance, a database outage), once it has spent the lease it holds.
 */
public enum OnUnavailable {
  /** Refuse with 503 until the entity answers again. */
  DENY,
  /** Admit up to this node's share of the limit: the limit divided by the reachable nodes. */
  LOCAL_SHARE
}
