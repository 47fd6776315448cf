package dev.tollgate.node.upstream;

import dev.tollgate.cluster.upstream.TargetHealth;
import dev.tollgate.config.PassiveHealthCheck;
import dev.tollgate.config.Target;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * One target of an upstream as this node's data plane sees it: its requests in flight, this node's
 * passive ejection after consecutive failures, and the cluster's verdict (health and breaker) from
 * its guard, read locally through its {@link TargetHealth}. Thread-safe; updated on every request.
 */
public final class UpstreamTarget {

  private final String upstream;
  private final Target target;
  private final String id;
  private final PassiveHealthCheck passive;
  private final LongSupplier nanoClock;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  /** Null when not ejected; replaced whole so that an expired ejection is cleared without losing a newer one. */
  private final AtomicReference<Ejection> ejection = new AtomicReference<>();
  private final TargetHealth health;

  /** @param health the cluster's verdict on this target, from {@link dev.tollgate.cluster.upstream.TargetBoard#activate} */
  public UpstreamTarget(String upstream, Target target, PassiveHealthCheck passive, TargetHealth health,
      LongSupplier nanoClock) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.target = Objects.requireNonNull(target, "target");
    this.passive = Objects.requireNonNull(passive, "passive");
    this.health = Objects.requireNonNull(health, "health");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.id = upstream + "/" + target.authority();
    if (!health.id().equals(id)) {
      throw new IllegalArgumentException("the health of " + health.id() + " is not that of " + id);
    }
  }

  /** A target no guard watches (always routable as far as the cluster goes); for tests and tools. */
  public UpstreamTarget(String upstream, Target target, PassiveHealthCheck passive, LongSupplier nanoClock) {
    this(upstream, target, passive, TargetHealth.unguarded(upstream + "/" + target.authority()), nanoClock);
  }

  public UpstreamTarget(String upstream, Target target, PassiveHealthCheck passive) {
    this(upstream, target, passive, System::nanoTime);
  }

  public String upstream() {
    return upstream;
  }

  public Target target() {
    return target;
  }

  /** {@code upstream/host:port}: unique within a config. */
  public String id() {
    return id;
  }

  public int inFlight() {
    return inFlight.get();
  }

  public TargetHealth health() {
    return health;
  }

  /**
   * Whether a balancer may pick this target now: passive ejection does not hold it out and the
   * cluster's verdict lets it take requests (or, half-open, this node holds a probe permit).
   */
  public boolean admits() {
    return !isEjected() && health.admits();
  }

  /**
   * An attempt to this target begins, if the cluster's verdict still allows it.
   *
   * @return {@link TargetHealth#ORDINARY}, a half-open probe's epoch, or {@link
   *     TargetHealth#REFUSED} (then nothing began: pick another target)
   */
  public long requestStarted() {
    long claim = health.claim();
    if (claim != TargetHealth.REFUSED) {
      inFlight.incrementAndGet();
    }
    return claim;
  }

  /** An attempt that began never reached the target (a full queue, a body over the limit): it counts for nothing. */
  public void requestAbandoned(long claim) {
    inFlight.decrementAndGet();
    health.abandoned(claim);
  }

  /**
   * An attempt ended. A failure (connect failure, reset, timeout, 502/503/504) counts towards
   * passive ejection, and a success resets the count; both go to the target's guard in this node's
   * next outcome batch.
   *
   * @param claim what {@link #requestStarted()} returned
   */
  public void requestFinished(long claim, boolean failure, long latencyNanos) {
    inFlight.decrementAndGet();
    health.finished(claim, failure, latencyNanos);
    if (!failure) {
      if (consecutiveFailures.get() != 0) {
        consecutiveFailures.set(0);
      }
      return;
    }
    if (passive.enabled() && consecutiveFailures.incrementAndGet() >= passive.consecutiveFailures()) {
      consecutiveFailures.set(0);
      ejection.set(new Ejection(nanoClock.getAsLong() + passive.ejectionTime().toNanos()));
    }
  }

  /** Whether passive ejection keeps this target out of rotation now. */
  public boolean isEjected() {
    Ejection current = ejection.get();
    if (current == null) {
      return false;
    }
    if (nanoClock.getAsLong() - current.untilNanos >= 0) {
      // Only this ejection is cleared: a failure streak may have ejected the target again meanwhile.
      ejection.compareAndSet(current, null);
      return false;
    }
    return true;
  }

  @Override
  public String toString() {
    return id;
  }

  private record Ejection(long untilNanos) {}
}
