package dev.tollgate.cluster.quota;

import java.util.List;
import java.util.concurrent.CompletionStage;

/** How a node reaches {@link ConsumerQuota} entities: by sharding in a cluster, directly in tests. */
public interface QuotaEntities {

  /** This node's name in leases; unique per node incarnation. */
  String node();

  /** Sends an {@link ConsumerQuota.Acquire}; fails when no answer comes in time. */
  CompletionStage<ConsumerQuota.Answer> acquire(String entityId, List<ConsumerQuota.Ask> asks);

  /**
   * As {@link #acquire}, for the ask that follows one left unanswered, with a longer timeout: a
   * shard's new home, after a hand-off or a rebalance, can take longer than one ask's timeout to
   * answer on a busy cluster.
   */
  CompletionStage<ConsumerQuota.Answer> acquireAgain(String entityId, List<ConsumerQuota.Ask> asks);

  /** Sends a {@link ConsumerQuota.Release}, unanswered. */
  void release(String entityId, List<ConsumerQuota.Ask> asks);

  /** How many nodes can reach the entities now (this one included); the divisor of a local share. */
  int reachableNodes();
}
