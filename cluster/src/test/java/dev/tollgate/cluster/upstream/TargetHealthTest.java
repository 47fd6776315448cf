package dev.tollgate.cluster.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.upstream.TargetStatus.Breaker;
import dev.tollgate.cluster.upstream.TargetStatus.Health;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node's handle on one target, fed statuses and guard answers by hand and stepped by a nano clock:
 * what it lets balancers do in each state, how it spends and gives back half-open permits, and what
 * it reports.
 */
class TargetHealthTest {

  static final String NODE = "pekko://tollgate@127.0.0.1:25520#1";
  static final long ASK_AGAIN = TargetBoard.ASK_AGAIN_AFTER.toNanos();
  static final long HELD = Duration.ofSeconds(1).toNanos();

  final AtomicLong nanos = new AtomicLong(5_000_000_000L);
  final AtomicInteger asks = new AtomicInteger();
  final TargetHealth target = new TargetHealth("app/10.0.0.1:8080", t -> asks.incrementAndGet(), nanos::get);
  final ExecutorService threads = Executors.newFixedThreadPool(8);

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  static TargetStatus status(Health health, Breaker breaker, long epoch) {
    return new TargetStatus("app", "10.0.0.1:8080", health, breaker, 0, 0, 0, epoch, "test");
  }

  static UpstreamGuard.ProbeAnswer grant(long epoch) {
    return new UpstreamGuard.ProbeAnswer(epoch, true);
  }

  void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  @Test
  void withoutAStatusOrWithAClosedBreakerOnATargetNotUnhealthyEveryRequestMayGo() {
    assertThat(target.status()).isEmpty();
    assertThat(target.admits()).isTrue();
    assertThat(target.claim()).isEqualTo(TargetHealth.ORDINARY);

    for (Health health : List.of(Health.UNPROBED, Health.HEALTHY)) {
      target.update(status(health, Breaker.CLOSED, 1));
      assertThat(target.admits()).as(health.toString()).isTrue();
      assertThat(target.claim()).isEqualTo(TargetHealth.ORDINARY);
    }
    target.update(null);
    assertThat(target.admits()).as("a status removed").isTrue();
    assertThat(asks).hasValue(0);
  }

  @Test
  void anUnhealthyTargetOrAnOpenBreakerBlocksEveryRequestAndAsksForNothing() {
    List<TargetStatus> blocking = List.of(
        status(Health.UNHEALTHY, Breaker.CLOSED, 1),
        status(Health.HEALTHY, Breaker.OPEN, 2),
        status(Health.UNPROBED, Breaker.FORCED_OPEN, 3),
        status(Health.UNHEALTHY, Breaker.HALF_OPEN, 4));
    for (TargetStatus s : blocking) {
      target.update(s);
      assertThat(target.admits()).as(s.health() + " " + s.breaker()).isFalse();
      assertThat(target.claim()).as(s.health() + " " + s.breaker()).isEqualTo(TargetHealth.REFUSED);
    }
    assertThat(asks).hasValue(0);
  }

  @Test
  void halfOpenOnlyARequestWithAPermitMayGoAndThePermitIsAskedForOnceAtATime() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 7));

    assertThat(target.admits()).as("no permit yet").isFalse();
    assertThat(target.admits()).isFalse();
    assertThat(asks).as("one ask in flight at a time").hasValue(1);

    target.granted(grant(7), ASK_AGAIN);
    assertThat(target.admits()).isTrue();
    assertThat(target.claim()).isEqualTo(7);
    assertThat(target.claim()).as("the permit is used up").isEqualTo(TargetHealth.REFUSED);
    assertThat(target.admits()).isFalse();
    assertThat(asks).as("asked again once the answer came").hasValue(2);
  }

  @Test
  void aRefusedOrFailedAskIsNotRepeatedWithinThePause() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 7));
    target.admits();
    target.granted(new UpstreamGuard.ProbeAnswer(7, false), ASK_AGAIN);

    assertThat(target.admits()).isFalse();
    advance(TargetBoard.ASK_AGAIN_AFTER.minusNanos(1));
    assertThat(target.admits()).isFalse();
    assertThat(asks).hasValue(1);
    advance(Duration.ofNanos(1));
    assertThat(target.admits()).isFalse();
    assertThat(asks).as("asked again after the pause").hasValue(2);

    target.askFailed(ASK_AGAIN);
    assertThat(target.admits()).isFalse();
    assertThat(asks).hasValue(2);
    advance(TargetBoard.ASK_AGAIN_AFTER);
    target.admits();
    assertThat(asks).hasValue(3);
  }

  @Test
  void eightThreadsRacingForThreePermitsGetExactlyThree() throws Exception {
    for (int round = 0; round < 200; round++) {
      TargetHealth racing = new TargetHealth("app/10.0.0.1:8080", t -> {}, nanos::get);
      racing.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 9));
      for (int i = 0; i < 3; i++) {
        racing.granted(grant(9), ASK_AGAIN);
      }
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Long>> claims = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        claims.add(threads.submit(() -> {
          start.await();
          return racing.claim();
        }));
      }
      start.countDown();
      int won = 0;
      int refused = 0;
      for (Future<Long> claim : claims) {
        long c = claim.get(10, TimeUnit.SECONDS);
        if (c == 9) {
          won++;
        } else if (c == TargetHealth.REFUSED) {
          refused++;
        }
      }
      assertThat(won).as("claims won in round " + round).isEqualTo(3);
      assertThat(refused).isEqualTo(5);
    }
  }

  @Test
  void permitsOfAnotherEpochAreVoidOnceTheStatusChanges() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 5));
    target.granted(grant(5), ASK_AGAIN);
    target.granted(grant(5), ASK_AGAIN);

    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 5));
    assertThat(target.claim()).as("the same epoch published again keeps the permits").isEqualTo(5);

    target.update(status(Health.HEALTHY, Breaker.OPEN, 6));
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 7));
    assertThat(target.claim()).as("a permit of epoch 5 in epoch 7").isEqualTo(TargetHealth.REFUSED);
    assertThat(target.admits()).isFalse();
    assertThat(target.takeUnusedPermits(NODE, 0)).as("void permits are not given back either").isNull();
  }

  @Test
  void aPermitGrantedForAnEpochThisNodeDoesNotSeeGoesBackAtOnce() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 5));
    target.granted(grant(7), ASK_AGAIN);

    assertThat(target.claim()).isEqualTo(TargetHealth.REFUSED);
    assertThat(target.takeUnusedPermits(NODE, HELD)).isEqualTo(new UpstreamGuard.ReturnProbe(NODE, 7, 1));
    assertThat(target.takeUnusedPermits(NODE, HELD)).isNull();
  }

  @Test
  void anAbandonedAttemptGivesItsPermitBack() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 5));
    target.granted(grant(5), ASK_AGAIN);
    long claim = target.claim();
    assertThat(claim).isEqualTo(5);

    target.abandoned(claim);
    assertThat(target.claim()).as("the permit came back").isEqualTo(5);

    target.abandoned(TargetHealth.ORDINARY);
    target.abandoned(TargetHealth.REFUSED);
    target.abandoned(4);
    assertThat(target.claim()).as("no permit from an ordinary, refused or stale claim").isEqualTo(TargetHealth.REFUSED);
  }

  @Test
  void drainBatchesTheCallsSinceTheLastDrainAndStartsAgainFromZero() {
    assertThat(target.drain(NODE)).as("nothing happened").isNull();

    target.finished(TargetHealth.ORDINARY, false, 2_000_000);
    target.finished(TargetHealth.ORDINARY, true, 4_000_000);
    target.finished(TargetHealth.ORDINARY, false, 1_500);

    assertThat(target.drain(NODE)).isEqualTo(new UpstreamGuard.Outcomes(NODE, 3, 1, 6_001, 0, 0, 0));
    assertThat(target.drain(NODE)).isNull();
    target.finished(TargetHealth.ORDINARY, true, 1_000);
    assertThat(target.drain(NODE)).isEqualTo(new UpstreamGuard.Outcomes(NODE, 1, 1, 1, 0, 0, 0));
  }

  @Test
  void probesAreReportedUnderTheirEpochApartFromOrdinaryCalls() {
    target.finished(5, false, 1_000_000);
    target.finished(5, true, 1_000_000);
    target.finished(5, false, 1_000_000);
    target.finished(TargetHealth.ORDINARY, true, 1_000);

    assertThat(target.drain(NODE)).isEqualTo(new UpstreamGuard.Outcomes(NODE, 1, 1, 1, 5, 2, 1));
    assertThat(target.drain(NODE)).isNull();

    target.finished(6, true, 1_000_000);
    assertThat(target.drain(NODE)).as("probes alone make a batch")
        .isEqualTo(new UpstreamGuard.Outcomes(NODE, 0, 0, 0, 6, 0, 1));
  }

  @Test
  void ofProbesOfTwoEpochsOnlyTheNewestEpochsAreReportedWhicheverEndedFirst() {
    target.finished(4, true, 1_000_000);
    target.finished(5, false, 1_000_000);
    assertThat(target.drain(NODE)).isEqualTo(new UpstreamGuard.Outcomes(NODE, 0, 0, 0, 5, 1, 0));

    // A slow probe of epoch 4 ends after a probe of epoch 5 did.
    target.finished(5, false, 1_000_000);
    target.finished(4, true, 1_000_000);
    assertThat(target.drain(NODE)).isEqualTo(new UpstreamGuard.Outcomes(NODE, 0, 0, 0, 5, 1, 0));
  }

  @Test
  void noCallFailureOrLatencyIsLostOrCountedTwiceWhileThreadsFinishAndTheReporterDrains() throws Exception {
    int perThread = 50_000;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> finishing = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      finishing.add(threads.submit(() -> {
        start.await();
        for (int i = 0; i < perThread; i++) {
          target.finished(TargetHealth.ORDINARY, i % 2 == 0, 1_000);
        }
        return null;
      }));
    }
    start.countDown();
    long[] totals = new long[3];
    while (!finishing.stream().allMatch(Future::isDone)) {
      add(totals, target.drain(NODE));
    }
    for (Future<?> f : finishing) {
      f.get(10, TimeUnit.SECONDS);
    }
    add(totals, target.drain(NODE));
    assertThat(totals).as("calls, failures, latency in µs").containsExactly(4L * perThread, 2L * perThread, 4L * perThread);
  }

  private static void add(long[] totals, UpstreamGuard.Outcomes batch) {
    if (batch != null) {
      totals[0] += batch.calls();
      totals[1] += batch.failures();
      totals[2] += batch.latencyMicros();
    }
  }

  @Test
  void permitsHeldUnusedForTheHoldTimeGoBackToTheGuard() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 5));
    target.granted(grant(5), ASK_AGAIN);
    advance(Duration.ofMillis(600));
    target.granted(grant(5), ASK_AGAIN);

    advance(Duration.ofMillis(399));
    assertThat(target.takeUnusedPermits(NODE, HELD)).as("999 ms after the first grant, 399 ms after the last").isNull();
    advance(Duration.ofMillis(600));
    assertThat(target.takeUnusedPermits(NODE, HELD)).as("999 ms after the last grant").isNull();
    advance(Duration.ofMillis(1));
    assertThat(target.takeUnusedPermits(NODE, HELD)).isEqualTo(new UpstreamGuard.ReturnProbe(NODE, 5, 2));

    assertThat(target.claim()).as("given back, not to be used").isEqualTo(TargetHealth.REFUSED);
    assertThat(target.takeUnusedPermits(NODE, HELD)).isNull();
  }

  @Test
  void aPermitUsedInTimeIsNotGivenBack() {
    target.update(status(Health.HEALTHY, Breaker.HALF_OPEN, 5));
    target.granted(grant(5), ASK_AGAIN);
    assertThat(target.claim()).isEqualTo(5);

    advance(Duration.ofSeconds(5));
    assertThat(target.takeUnusedPermits(NODE, HELD)).isNull();
  }
}
