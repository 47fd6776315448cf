package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.quota.LeaseLedger.Grant;
import dev.tollgate.cluster.quota.LocalLease.Unused;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LocalLeaseTest {

  private static final Instant NOW = Instant.parse("2026-11-22T07:00:00Z");

  private final SteppedNanos clock = new SteppedNanos();
  private final LocalLease lease = new LocalLease(clock);

  private static Grant grant(long leaseId, long tokens, long windowId) {
    return new Grant(leaseId, tokens, NOW.plusSeconds(5), windowId);
  }

  @Test
  void admitsUntilTheTokensAreGone() {
    assertThat(lease.tryAcquire()).isFalse();

    lease.accept(grant(1, 3, 7), NOW);

    assertThat(lease.remaining()).isEqualTo(3);
    assertThat(lease.tryAcquire()).isTrue();
    assertThat(lease.tryAcquire()).isTrue();
    assertThat(lease.tryAcquire()).isTrue();
    assertThat(lease.tryAcquire()).isFalse();
    assertThat(lease.remaining()).isZero();
  }

  @Test
  void countsWhatItAdmittedInAWindowWhenTheNextOneOpens() {
    assertThat(lease.acceptCounting(grant(1, 10, 7), NOW)).as("no window closed yet").isNull();
    for (int i = 0; i < 6; i++) {
      assertThat(lease.tryAcquire()).isTrue();
    }
    long generation = lease.generation();
    assertThat(lease.tryAcquire()).isTrue();
    lease.refund(generation); // taken, then put back: not admitted
    lease.accept(grant(2, 5, 7), NOW);
    assertThat(lease.tryAcquire()).isTrue();
    assertThat(lease.drainUnused().tokens()).isEqualTo(8);
    assertThat(lease.admittedInWindow()).containsExactly(7, 7);

    LocalLease.ClosedWindow closed = lease.acceptCounting(grant(3, 4, 9), NOW);
    assertThat(closed).isEqualTo(new LocalLease.ClosedWindow(7, 7));
    assertThat(lease.tryAcquire()).isTrue();
    assertThat(lease.admittedInWindow()).containsExactly(9, 1);
  }

  @Test
  void admitsNothingOnceExpired() {
    lease.accept(grant(1, 10, 7), NOW);

    clock.advance(Duration.ofMillis(4_999));
    assertThat(lease.tryAcquire()).isTrue();
    clock.advance(Duration.ofMillis(1));
    assertThat(lease.tryAcquire()).isFalse();
    assertThat(lease.remaining()).isZero();
  }

  @Test
  void grantsOfTheSameWindowTopUpAndMoveTheExpiry() {
    lease.accept(grant(1, 10, 7), NOW);
    clock.advance(Duration.ofSeconds(3));

    lease.accept(new Grant(2, 5, NOW.plusSeconds(8), 7), NOW.plusSeconds(3));
    clock.advance(Duration.ofSeconds(4));

    assertThat(lease.remaining()).isEqualTo(15);
    assertThat(lease.drainUnused()).isEqualTo(new Unused(2, 7, 15));
  }

  @Test
  void aGrantOfALaterWindowVoidsTheEarlierTokens() {
    lease.accept(grant(1, 10, 7), NOW);
    lease.accept(grant(2, 4, 8), NOW);
    lease.accept(grant(1, 10, 7), NOW); // late duplicate of the earlier window: ignored
    lease.accept(grant(0, 0, 8), NOW); // nothing granted: ignored

    assertThat(lease.drainUnused()).isEqualTo(new Unused(2, 8, 4));
  }

  @Test
  void drainingTakesWhatIsLeftOnce() {
    lease.accept(grant(3, 10, 7), NOW);
    lease.tryAcquire();

    assertThat(lease.drainUnused()).isEqualTo(new Unused(3, 7, 9));
    assertThat(lease.drainUnused()).isEqualTo(new Unused(3, 7, 0));
    assertThat(lease.tryAcquire()).isFalse();
  }

  @Test
  void wantsRenewalBelowTheLowWaterMark() {
    assertThat(lease.wantsRenewal()).isTrue(); // never granted

    lease.accept(grant(1, 100, 7), NOW);
    for (int i = 0; i < 50; i++) {
      lease.tryAcquire();
    }
    assertThat(lease.wantsRenewal()).isFalse(); // 50 left

    lease.tryAcquire();
    assertThat(lease.wantsRenewal()).isTrue(); // 49 left
  }

  @Test
  void wantsRenewalCloseToExpiry() {
    lease.accept(grant(1, 100, 7), NOW);

    clock.advance(Duration.ofMillis(3_999));
    assertThat(lease.wantsRenewal()).isFalse();
    clock.advance(Duration.ofMillis(1));
    assertThat(lease.wantsRenewal()).isTrue();
  }

  @Test
  void measuresDemandOverTheLastSecond() {
    for (int slot = 0; slot < 10; slot++) {
      for (int i = 0; i < 30; i++) {
        lease.recordDemand();
      }
      clock.advance(Duration.ofMillis(100));
    }
    assertThat(lease.demandPerSecond()).isEqualTo(300);

    // Five slots without demand: the last second holds four slots of 30, seen over the 900 ms since
    // the first of them began.
    clock.advance(Duration.ofMillis(500));
    assertThat(lease.demandPerSecond()).isEqualTo(133);

    clock.advance(Duration.ofSeconds(5));
    assertThat(lease.demandPerSecond()).isZero();
  }

  @Test
  void aBurstAfterAQuietSpellIsMeasuredAtItsOwnRate() {
    lease.recordDemand();
    clock.advance(Duration.ofSeconds(3));
    for (int i = 0; i < 50; i++) {
      lease.recordDemand();
    }
    clock.advance(Duration.ofMillis(20));
    assertThat(lease.demandPerSecond()).as("at least one slot long").isEqualTo(500);
    clock.advance(Duration.ofMillis(230));
    for (int i = 0; i < 200; i++) {
      lease.recordDemand();
    }
    // 250 requests since the burst's first slot began, 250 ms ago (the quiet seconds do not count).
    assertThat(lease.demandPerSecond()).isEqualTo(1000);
  }

  @Test
  void aYoungLeaseMeasuresDemandOverWhatItHasSeen() {
    for (int i = 0; i < 20; i++) {
      lease.recordDemand();
    }
    assertThat(lease.demandPerSecond()).isEqualTo(200); // the first slot, counted as complete

    clock.advance(Duration.ofMillis(200));
    assertThat(lease.demandPerSecond()).isEqualTo(100); // two complete slots
  }

  @Test
  void concurrentRequestsNeverAdmitMoreThanTheLeaseHolds() throws Exception {
    long granted = 100_000;
    lease.accept(grant(1, granted, 7), NOW);
    int threads = 8;
    CountDownLatch start = new CountDownLatch(1);
    List<Callable<Long>> requests = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      requests.add(() -> {
        start.await();
        long admitted = 0;
        while (lease.tryAcquire()) {
          admitted++;
          lease.recordDemand();
        }
        return admitted;
      });
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Long>> results = new ArrayList<>();
      requests.forEach(r -> results.add(pool.submit(r)));
      start.countDown();
      long admitted = 0;
      for (Future<Long> result : results) {
        admitted += result.get(1, TimeUnit.MINUTES);
      }

      assertThat(admitted).isEqualTo(granted);
      assertThat(lease.remaining()).isZero();
      clock.advance(Duration.ofMillis(100));
      assertThat(lease.demandPerSecond()).isEqualTo(granted * 10); // no count lost under contention
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void drainingNeitherLosesNorDoublesATokenWhileRequestsRun() throws Exception {
    long granted = 100_000;
    lease.accept(grant(1, granted, 7), NOW);
    int threads = 4;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Long>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        results.add(pool.submit(() -> {
          start.await();
          long admitted = 0;
          while (lease.tryAcquire()) {
            admitted++;
          }
          return admitted;
        }));
      }
      start.countDown();
      long drained = lease.drainUnused().tokens();
      long admitted = 0;
      for (Future<Long> result : results) {
        admitted += result.get(1, TimeUnit.MINUTES);
      }

      assertThat(admitted + drained).isEqualTo(granted);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aDrainedLeaseGoesBackToTheLedger() {
    LeaseLedger ledger = LeaseLedger.open(100, CalendarWindow.of("hour"), LeaseLedger.Terms.DEFAULT, NOW);
    lease.accept(ledger.grant("a", 60, 1_000_000, NOW), NOW);
    lease.accept(ledger.grant("a", 60, 1_000_000, NOW), NOW);
    for (int i = 0; i < 25; i++) {
      lease.tryAcquire();
    }

    Unused unused = lease.drainUnused();
    ledger.release("a", unused.leaseId(), unused.tokens(), NOW);

    assertThat(unused.tokens()).isEqualTo(75);
    assertThat(ledger.consumed()).isEqualTo(25);
    assertThat(ledger.remaining()).isEqualTo(75);
  }
}
