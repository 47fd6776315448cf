package dev.tollgate.node.proxy;

import dev.tollgate.config.Upstream;
import dev.tollgate.node.metrics.UpstreamMeter;
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
  final UpstreamMeter meter;
  /** The {@code Host} header of {@code host_header: <value>}, built once; null for other modes. */
  final org.apache.pekko.http.javadsl.model.headers.Host fixedHost;
  private final Map<UpstreamTarget, TargetPool> pools;

  UpstreamRuntime(Upstream config, List<UpstreamTarget> targets, Balancer balancer, TargetPools allPools,
      UpstreamMeter meter) {
    this.config = config;
    this.targets = List.copyOf(targets);
    this.balancer = balancer;
    this.meter = meter;
    this.fixedHost = config.hostHeader().mode() == dev.tollgate.config.HostHeader.Mode.FIXED
        ? ProxyHandler.hostHeader(config.hostHeader().value())
        : null;
    this.pools = new IdentityHashMap<>();
    for (UpstreamTarget t : targets) {
      pools.put(t, allPools.get(t.target(), config.timeouts()));
    }
  }

  TargetPool pool(UpstreamTarget target) {
    return pools.get(target);
  }
}
