package dev.tollgate.node.upstream;

import dev.tollgate.config.Upstream;
import java.util.List;
import java.util.Objects;

/**
 * Builds the {@link Balancer} an upstream's config asks for. Call once per upstream and config
 * version, when the config is compiled; the balancer is then shared by all requests.
 */
public final class Balancers {

  private Balancers() {}

  /**
   * The balancer of {@code config.balancer()} over {@code targets}, reading health from {@code
   * status}. The targets' weights come from their {@link dev.tollgate.config.Target}s; the list
   * order is the order of turns.
   *
   * @throws IllegalArgumentException when {@code targets} is empty or holds a target twice
   */
  public static Balancer create(Upstream config, List<UpstreamTarget> targets, UpstreamStatus status) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(targets, "targets");
    Objects.requireNonNull(status, "status");
    UpstreamTarget[] array = targets.toArray(new UpstreamTarget[0]);
    if (array.length == 0) {
      throw new IllegalArgumentException("upstream " + config.name() + " has no targets");
    }
    for (int i = 0; i < array.length; i++) {
      Objects.requireNonNull(array[i], "targets[" + i + "]");
      for (int j = 0; j < i; j++) {
        if (array[j] == array[i] || array[j].id().equals(array[i].id())) {
          throw new IllegalArgumentException("upstream " + config.name() + " lists target " + array[i].id() + " twice");
        }
      }
    }
    switch (config.balancer()) {
      case ROUND_ROBIN:
        return TurnBalancer.roundRobin(array, status);
      case WEIGHTED:
        return TurnBalancer.weighted(array, status);
      case LEAST_REQUESTS:
        return new LeastRequestsBalancer(array, status);
      case CONSISTENT_HASH:
        return new ConsistentHashBalancer(array, status, config.hashOn().orElseThrow());
      default:
        throw new IllegalArgumentException("unknown balancer " + config.balancer());
    }
  }

  /** Whether {@code target} may take this attempt. Indexed loop: no iterator when tried is not empty. */
  static boolean isCandidate(UpstreamTarget target, UpstreamStatus status, List<UpstreamTarget> tried) {
    if (!tried.isEmpty()) {
      for (int i = 0, n = tried.size(); i < n; i++) {
        if (tried.get(i) == target) {
          return false;
        }
      }
    }
    return status.isAvailable(target);
  }

  /** Whether any target may take this attempt; the bound that keeps a ring or sequence walk finite. */
  static boolean anyCandidate(UpstreamTarget[] targets, UpstreamStatus status, List<UpstreamTarget> tried) {
    for (UpstreamTarget target : targets) {
      if (isCandidate(target, status, tried)) {
        return true;
      }
    }
    return false;
  }
}
