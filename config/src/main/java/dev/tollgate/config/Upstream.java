package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A named group of interchangeable targets and how requests are spread over them.
 *
 * @param hashOn what the consistent-hash balancer hashes; present exactly when {@code balancer} is
 *     {@link BalancerKind#CONSISTENT_HASH}
 * @param activeHealthCheck probing of each target, absent when the upstream is not probed
 * @param circuitBreaker the cluster-wide breaker of each target
 */
public record Upstream(
    String name,
    List<Target> targets,
    BalancerKind balancer,
    Optional<HashKey> hashOn,
    HostHeader hostHeader,
    Timeouts timeouts,
    RetryPolicy retries,
    Optional<ActiveHealthCheck> activeHealthCheck,
    PassiveHealthCheck passiveHealthCheck,
    CircuitBreaker circuitBreaker) {

  public Upstream {
    Objects.requireNonNull(name, "name");
    targets = List.copyOf(Objects.requireNonNull(targets, "targets"));
    Objects.requireNonNull(balancer, "balancer");
    Objects.requireNonNull(hashOn, "hashOn");
    Objects.requireNonNull(hostHeader, "hostHeader");
    Objects.requireNonNull(timeouts, "timeouts");
    Objects.requireNonNull(retries, "retries");
    Objects.requireNonNull(activeHealthCheck, "activeHealthCheck");
    Objects.requireNonNull(passiveHealthCheck, "passiveHealthCheck");
    Objects.requireNonNull(circuitBreaker, "circuitBreaker");
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("an upstream needs at least one target");
    }
    if (hashOn.isPresent() != (balancer == BalancerKind.CONSISTENT_HASH)) {
      throw new IllegalArgumentException("hashOn is set exactly for the consistent-hash balancer");
    }
  }

  /** An upstream with the default settings for everything but its name, targets and balancer. */
  public static Upstream of(String name, List<Target> targets, BalancerKind balancer) {
    return new Upstream(
        name,
        targets,
        balancer,
        balancer == BalancerKind.CONSISTENT_HASH ? Optional.of(HashKey.clientIp()) : Optional.empty(),
        HostHeader.target(),
        Timeouts.DEFAULT,
        RetryPolicy.DEFAULT,
        Optional.empty(),
        PassiveHealthCheck.DEFAULT,
        CircuitBreaker.DEFAULT);
  }

  public Upstream withTimeouts(Timeouts t) {
    return new Upstream(name, targets, balancer, hashOn, hostHeader, t, retries, activeHealthCheck, passiveHealthCheck, circuitBreaker);
  }

  public Upstream withRetries(RetryPolicy r) {
    return new Upstream(name, targets, balancer, hashOn, hostHeader, timeouts, r, activeHealthCheck, passiveHealthCheck, circuitBreaker);
  }

  public Upstream withHostHeader(HostHeader h) {
    return new Upstream(name, targets, balancer, hashOn, h, timeouts, retries, activeHealthCheck, passiveHealthCheck, circuitBreaker);
  }

  public Upstream withHashOn(HashKey key) {
    return new Upstream(name, targets, balancer, Optional.of(key), hostHeader, timeouts, retries, activeHealthCheck, passiveHealthCheck, circuitBreaker);
  }

  public Upstream withActiveHealthCheck(ActiveHealthCheck check) {
    return new Upstream(name, targets, balancer, hashOn, hostHeader, timeouts, retries, Optional.of(check), passiveHealthCheck, circuitBreaker);
  }

  public Upstream withCircuitBreaker(CircuitBreaker breaker) {
    return new Upstream(name, targets, balancer, hashOn, hostHeader, timeouts, retries, activeHealthCheck, passiveHealthCheck, breaker);
  }

  public Upstream withPassiveHealthCheck(PassiveHealthCheck check) {
    return new Upstream(name, targets, balancer, hashOn, hostHeader, timeouts, retries, activeHealthCheck, check, circuitBreaker);
  }
}
