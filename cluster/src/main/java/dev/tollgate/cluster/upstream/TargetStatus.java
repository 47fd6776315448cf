package dev.tollgate.cluster.upstream;

import dev.tollgate.persistence.CborSerializable;
import java.util.Objects;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * A target's health and breaker state as its guard publishes them to every node, through one
 * Distributed Data map ({@link #KEY}, target id to status). Guards write it only when something
 * changes (a health or breaker transition, a new config), never per request or per probe.
 *
 * @param healthSinceMillis when {@code health} last changed (epoch milliseconds)
 * @param breakerSinceMillis when {@code breaker} last changed (epoch milliseconds)
 * @param openUntilMillis while {@link Breaker#OPEN}, when it turns half-open; 0 otherwise
 * @param epoch the breaker's episode: it changes with every breaker transition, and half-open probe
 *     permits are valid only in the epoch they were granted in
 * @param reason why the last transition happened, for operators
 */
public record TargetStatus(
    String upstream,
    String target,
    Health health,
    Breaker breaker,
    long healthSinceMillis,
    long breakerSinceMillis,
    long openUntilMillis,
    long epoch,
    String reason) implements CborSerializable {

  /** The Distributed Data map every guard writes its target's status into. */
  public static final Key<LWWMap<String, TargetStatus>> KEY = LWWMapKey.create("tollgate-upstream-status");

  /** What the guard's active probe found. */
  public enum Health {
    /** The upstream has no active health check. */
    UNPROBED,
    HEALTHY,
    UNHEALTHY
  }

  /** The breaker's state machine. */
  public enum Breaker {
    /** Requests flow; outcomes fill the sliding window. */
    CLOSED,
    /** No node sends requests until {@code openUntilMillis}. */
    OPEN,
    /** The cluster as a whole sends exactly the configured number of probe requests. */
    HALF_OPEN,
    /** An operator opened it; it stays open until released. */
    FORCED_OPEN
  }

  public TargetStatus {
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(health, "health");
    Objects.requireNonNull(breaker, "breaker");
    Objects.requireNonNull(reason, "reason");
  }

  public String id() {
    return GuardSpec.id(upstream, target);
  }

  /** Whether nodes may send this target any request. */
  public boolean routable() {
    return health != Health.UNHEALTHY && breaker == Breaker.CLOSED;
  }

  /** Whether nodes may send this target only half-open probe requests, each with a permit. */
  public boolean probesOnly() {
    return health != Health.UNHEALTHY && breaker == Breaker.HALF_OPEN;
  }
}
