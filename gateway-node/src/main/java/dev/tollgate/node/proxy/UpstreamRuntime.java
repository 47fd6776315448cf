package dev.tollgate.node.proxy;

import dev.tollgate.config.Upstream;
import dev.tollgate.node.upstream.Balancer;
import dev.tollgate.node.upstream.UpstreamTarget;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** An upstream of one config version: its targets, their pools, and its balancer. */
final class UpstreamRuntime {

  final Upstream config;
  final List<UpstreamTarget> targets;
  final Balancer balancer;
  private final Map<UpstreamTarget, TargetPool> pools;

  UpstreamRuntime(Upstream config, List<UpstreamTarget> targets, Balancer balancer, TargetPools allPools) {
    this.config = config;
    this.targets = List.copyOf(targets);
    this.balancer = balancer;
    this.pools = new IdentityHashMap<>();
    for (UpstreamTarget t : targets) {
      pools.put(t, allPools.get(t.target(), config.timeouts()));
    }
  }

  TargetPool pool(UpstreamTarget target) {
    return pools.get(target);
  }
}
