package dev.tollgate.node.upstream;

import java.util.Objects;

/**
 * This node's own view of target health: a target is available when passive ejection does not
 * hold it out ({@link UpstreamTarget#isEjected()}) and this node's {@link ActiveHealthChecker} has
 * not marked it unhealthy. A read is one volatile load (plus a clock read while ejected): the mark
 * lives on the {@link UpstreamTarget} itself, so no lookup by name happens per request.
 *
 * <p>Every target starts healthy. Use one instance per node; the checkers write through it.
 */
public final class LocalUpstreamStatus implements UpstreamStatus {

  @Override
  public boolean isAvailable(UpstreamTarget target) {
    return target.isProbedHealthy() && !target.isEjected();
  }

  /** The verdict of active probes alone, ignoring passive ejection. */
  public boolean isHealthy(UpstreamTarget target) {
    return target.isProbedHealthy();
  }

  /** Active probes found the target healthy (again). */
  public void markHealthy(UpstreamTarget target) {
    Objects.requireNonNull(target, "target").probedHealthy(true);
  }

  /** Active probes found the target unhealthy: balancers pass it over until it is marked healthy. */
  public void markUnhealthy(UpstreamTarget target) {
    Objects.requireNonNull(target, "target").probedHealthy(false);
  }
}
