package dev.tollgate.cluster.upstream;

import dev.tollgate.config.ActiveHealthCheck;
import dev.tollgate.config.CircuitBreaker;
import dev.tollgate.config.Target;
import dev.tollgate.config.Upstream;
import dev.tollgate.persistence.CborSerializable;
import java.util.Objects;
import java.util.Optional;

/**
 * What one target's guard needs from a config version: where the target is, its upstream's breaker
 * settings and active probe. Nodes send it with every config version they swap in, and the oldest
 * node sends it again periodically, so a guard started anew (after a rebalance or a crash) is
 * configured within one keep-alive period. A guard keeps the spec of the highest version it saw.
 *
 * @param upstream the upstream's name
 * @param target the target's {@code host:port}
 * @param url the target's base URL, such as {@code http://10.0.1.10:8080}
 * @param configVersion the config version this spec comes from (0 for a config given whole at start)
 * @param probe the upstream's active health check; empty when targets are not probed
 */
public record GuardSpec(
    String upstream,
    String target,
    String url,
    long configVersion,
    CircuitBreaker breaker,
    Optional<ActiveHealthCheck> probe) implements CborSerializable {

  public GuardSpec {
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(breaker, "breaker");
    Objects.requireNonNull(probe, "probe");
  }

  /** The spec of {@code target} of {@code upstream} in config version {@code configVersion}. */
  public static GuardSpec of(Upstream upstream, Target target, long configVersion) {
    return new GuardSpec(upstream.name(), target.authority(), target.url(), configVersion, upstream.circuitBreaker(),
        upstream.activeHealthCheck());
  }

  /** The guard's entity id and the target's key in the status map: {@code upstream/host:port}. */
  public String id() {
    return id(upstream, target);
  }

  public static String id(String upstream, String target) {
    return upstream + "/" + target;
  }
}
