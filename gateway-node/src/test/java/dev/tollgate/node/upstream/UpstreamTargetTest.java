package dev.tollgate.node.upstream;

import dev.tollgate.cluster.upstream.TargetHealth;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.PassiveHealthCheck;
import dev.tollgate.config.Target;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UpstreamTargetTest {

  private static final Duration EJECTION = Duration.ofSeconds(30);

  // Starts far from zero and near the long boundary: nanoTime may have any origin.
  private final AtomicLong clock = new AtomicLong(Long.MAX_VALUE - Duration.ofSeconds(10).toNanos());
  private final UpstreamTarget target = new UpstreamTarget(
      "api", Target.http("10.0.0.1", 8080), new PassiveHealthCheck(3, EJECTION), clock::get);

  @Test
  void isNamedByUpstreamAndAuthority() {
    assertThat(target.id()).isEqualTo("api/10.0.0.1:8080");
    assertThat(new UpstreamTarget("api", Target.http("::1", 80), PassiveHealthCheck.OFF).id()).isEqualTo("api/[::1]:80");
  }

  @Test
  void countsRequestsInFlight() {
    target.requestStarted();
    target.requestStarted();
    target.requestFinished(TargetHealth.ORDINARY, false, 0);

    assertThat(target.inFlight()).isEqualTo(1);
  }

  @Test
  void isEjectedAfterConsecutiveFailuresAndReturnsWhenTheEjectionTimeHasPassed() {
    fail(2);
    assertThat(target.isEjected()).isFalse();

    fail(1);
    assertThat(target.isEjected()).isTrue();

    clock.addAndGet(EJECTION.toNanos() - 1);
    assertThat(target.isEjected()).isTrue();

    clock.addAndGet(1);
    assertThat(target.isEjected()).isFalse();
    assertThat(target.isEjected()).isFalse();
  }

  @Test
  void aSuccessBreaksTheFailureStreak() {
    fail(2);
    target.requestStarted();
    target.requestFinished(TargetHealth.ORDINARY, false, 0);
    fail(2);

    assertThat(target.isEjected()).isFalse();
  }

  @Test
  void canBeEjectedAgainAfterReturning() {
    fail(3);
    clock.addAndGet(EJECTION.toNanos());
    assertThat(target.isEjected()).isFalse();

    fail(3);
    assertThat(target.isEjected()).isTrue();
    clock.addAndGet(EJECTION.toNanos());
    assertThat(target.isEjected()).isFalse();
  }

  @Test
  void aNewEjectionWhileEjectedExtendsIt() {
    fail(3);
    clock.addAndGet(EJECTION.toNanos() / 2);
    fail(3);

    clock.addAndGet(EJECTION.toNanos() / 2);
    assertThat(target.isEjected()).isTrue();
    clock.addAndGet(EJECTION.toNanos() / 2);
    assertThat(target.isEjected()).isFalse();
  }

  @Test
  void isNeverEjectedWhenPassiveChecksAreOff() {
    UpstreamTarget unchecked = new UpstreamTarget("api", Target.http("10.0.0.2", 8080), PassiveHealthCheck.OFF, clock::get);
    for (int i = 0; i < 100; i++) {
      unchecked.requestStarted();
      unchecked.requestFinished(TargetHealth.ORDINARY, true, 0);
    }

    assertThat(unchecked.isEjected()).isFalse();
  }

  @Test
  void theGuardedStatusHonoursPassiveEjection() {
    assertThat(UpstreamStatus.GUARDED.isAvailable(target)).isTrue();

    fail(3);
    assertThat(UpstreamStatus.GUARDED.isAvailable(target)).isFalse();

    clock.addAndGet(EJECTION.toNanos());
    assertThat(UpstreamStatus.GUARDED.isAvailable(target)).isTrue();
  }

  private void fail(int times) {
    for (int i = 0; i < times; i++) {
      target.requestStarted();
      target.requestFinished(TargetHealth.ORDINARY, true, 0);
    }
  }
}
