package dev.tollgate.node.upstream;

import dev.tollgate.config.BalancerKind;
import dev.tollgate.config.PassiveHealthCheck;
import dev.tollgate.config.Target;
import dev.tollgate.config.Upstream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Targets and upstreams for balancer tests; the addresses are never connected to. */
final class SampleTargets {

  private SampleTargets() {}

  /** One target per weight, {@code 10.0.0.<i+1>:8080}. */
  static List<UpstreamTarget> weighted(int... weights) {
    List<UpstreamTarget> targets = new ArrayList<>();
    for (int i = 0; i < weights.length; i++) {
      Target target = Target.http("10.0.0." + (i + 1), 8080).withWeight(weights[i]);
      targets.add(new UpstreamTarget("api", target, PassiveHealthCheck.OFF));
    }
    return List.copyOf(targets);
  }

  static List<UpstreamTarget> equal(int count) {
    int[] weights = new int[count];
    java.util.Arrays.fill(weights, 1);
    return weighted(weights);
  }

  static Upstream upstream(BalancerKind kind, List<UpstreamTarget> targets) {
    List<Target> configTargets = new ArrayList<>();
    for (UpstreamTarget target : targets) {
      configTargets.add(target.target());
    }
    return Upstream.of("api", configTargets, kind);
  }

  static Balancer balancer(BalancerKind kind, List<UpstreamTarget> targets, UpstreamStatus status) {
    return Balancers.create(upstream(kind, targets), targets, status);
  }

  /** How often each target is picked in {@code picks} picks of a fresh request with nothing tried. */
  static Map<UpstreamTarget, Integer> count(Balancer balancer, int picks) {
    Map<UpstreamTarget, Integer> counts = new HashMap<>();
    for (int i = 0; i < picks; i++) {
      counts.merge(balancer.pick(SampleRequest.ANY, List.of()), 1, Integer::sum);
    }
    return counts;
  }
}
