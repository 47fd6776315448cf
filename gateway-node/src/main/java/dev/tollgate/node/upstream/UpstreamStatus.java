package dev.tollgate.node.upstream;

/**
 * What a balancer reads about a target's health. Reads must be cheap and never block: they run on
 * every request.
 */
public interface UpstreamStatus {

  /** Whether the target may receive new requests now. */
  boolean isAvailable(UpstreamTarget target);

  /**
   * The cluster's verdict (the target's guard, read from this node's replica) and this node's
   * passive ejection: what the proxy's balancers use.
   */
  UpstreamStatus GUARDED = UpstreamTarget::admits;
}
