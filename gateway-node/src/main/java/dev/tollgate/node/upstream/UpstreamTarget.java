package dev.tollgate.node.upstream;

import dev.tollgate.config.PassiveHealthCheck;
import dev.tollgate.config.Target;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * One target of an upstream as this node's data plane sees it: its requests in flight, its passive
 * health (ejection after consecutive failures) and the verdict of this node's active probes (kept
 * here so that {@link LocalUpstreamStatus} reads it with one volatile load). Thread-safe; updated
 * on every request.
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
  private volatile boolean probedHealthy = true;

  public UpstreamTarget(String upstream, Target target, PassiveHealthCheck passive, LongSupplier nanoClock) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.target = Objects.requireNonNull(target, "target");
    this.passive = Objects.requireNonNull(passive, "passive");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.id = upstream + "/" + target.authority();
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

  /** An attempt to this target begins. */
  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  /**
   * An attempt ended. A failure (connect failure, reset, timeout, 502/503/504) counts towards
   * passive ejection; a success resets the count.
   */
  public void requestFinished(boolean failure) {
    inFlight.decrementAndGet();
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

  /** The verdict of this node's active probes; true until a probe series says otherwise. */
  boolean isProbedHealthy() {
    return probedHealthy;
  }

  void probedHealthy(boolean healthy) {
    probedHealthy = healthy;
  }

  @Override
  public String toString() {
    return id;
  }

  private record Ejection(long untilNanos) {}
}
