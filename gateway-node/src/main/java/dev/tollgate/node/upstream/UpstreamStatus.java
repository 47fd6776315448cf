package dev.tollgate.node.upstream;

/**
 * What a balancer reads about a target's health. Node-local for now (active probes of this node
 * plus passive ejection); a later cluster-wide implementation will read a gossiped replica. Reads
 * must be cheap and never block: they run on every request.
 */
public interface UpstreamStatus {

  /** Whether the target may receive new requests now. */
  boolean isAvailable(UpstreamTarget target);

  /** Every target is available; for upstreams without health checks and for tests. */
  UpstreamStatus ALWAYS = target -> !target.isEjected();
}
