package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.quota.LeaseLedger.Grant;
import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeaseLedgerTest {

  private static final CalendarWindow HOUR = CalendarWindow.of("hour");
  private static final Terms TERMS = Terms.DEFAULT;

  private Instant now = Instant.parse("2026-11-22T07:00:00Z");

  @Test
  void aLeaseCoversTheNodesDemandOverTheRenewalHorizon() {
    LeaseLedger ledger = LeaseLedger.open(10_000, HOUR, TERMS, now);

    Grant grant = ledger.grant("a", 1_000, 400, now);

    assertThat(grant.tokens()).isEqualTo(100); // 400/s over 250 ms
    assertThat(grant.leaseId()).isEqualTo(1);
    assertThat(grant.windowId()).isEqualTo(HOUR.id(now));
    assertThat(grant.expiresAt()).isEqualTo(now.plusSeconds(5));
    assertThat(ledger.outstanding()).isEqualTo(100);
    assertThat(ledger.remaining()).isEqualTo(9_900);
  }

  @Test
  void aLeaseIsNeverMoreThanWantedAndAtLeastOneToken() {
    LeaseLedger ledger = LeaseLedger.open(10_000, HOUR, TERMS, now);

    assertThat(ledger.grant("a", 7, 400, now).tokens()).isEqualTo(7);
    assertThat(ledger.grant("a", 50, 0, now).tokens()).isEqualTo(1);
    assertThat(ledger.grant("a", 0, 400, now).tokens()).isZero();
  }

  @Test
  void aNodeGetsWhatItsOwnDemandWillSpendWhateverOtherNodesHold() {
    LeaseLedger ledger = LeaseLedger.open(10_000, HOUR, TERMS, now);
    ledger.grant("b", 1, 0, now);
    ledger.grant("c", 1, 0, now);

    assertThat(ledger.grant("a", 100_000, 2_000, now).tokens()).as("250 ms of 2,000/s").isEqualTo(500);
    assertThat(ledger.grant("b", 100_000, 400, now).tokens()).isEqualTo(100);
  }

  @Test
  void theEndOfAQuotaIsSharedByTheNodesHoldingLeasesDownToOneTokenPerAsk() {
    LeaseLedger ledger = LeaseLedger.open(1_000, HOUR, TERMS, now);
    ledger.grant("a", 700, 1_000_000, now);
    ledger.grant("b", 90, 1_000_000, now);
    ledger.grant("c", 10, 1_000_000, now);
    assertThat(ledger.remaining()).isEqualTo(200);

    // a's demand would take all 200; b and c, holding leases, may ask a moment later.
    assertThat(ledger.grant("a", 1_000, 1_000_000, now).tokens()).as("a third of 200").isEqualTo(66);
    assertThat(ledger.grant("c", 1_000, 1_000_000, now).tokens()).as("a third of 134").isEqualTo(44);
    long granted = 66 + 44;
    int asks = 2;
    while (ledger.remaining() > 0) {
      long before = ledger.remaining();
      Grant g = ledger.grant(List.of("a", "b", "c").get(asks % 3), 1_000, 1_000_000, now);
      assertThat(g.tokens()).isBetween(1L, Math.max(1, before / 3));
      granted += g.tokens();
      asks++;
    }
    assertThat(granted).isEqualTo(200);
    assertThat(ledger.grant("b", 1_000, 1_000_000, now).tokens()).isZero();
  }

  @Test
  void aLoneNodeGetsTheWholeEndOfAQuota() {
    LeaseLedger ledger = LeaseLedger.open(1_000, HOUR, TERMS, now);
    ledger.grant("a", 990, 1_000_000, now);

    assertThat(ledger.grant("a", 1_000, 1_000_000, now).tokens()).as("no other node holds a lease").isEqualTo(10);
  }

  @Test
  void inAWindowShorterThanAMinuteTheLastTokensGoToTheFirstNodeThatAsks() {
    LeaseLedger ledger = LeaseLedger.open(1_000, CalendarWindow.of("1s"), TERMS, now);
    ledger.grant("a", 990, 1_000_000, now);
    assertThat(ledger.remaining()).isEqualTo(10);

    assertThat(ledger.grant("b", 1_000, 400, now).tokens()).as("one ask takes the tail").isEqualTo(10);
    for (String node : List.of("a", "b", "c")) {
      Grant none = ledger.grant(node, 1_000, 1_000_000, now);
      assertThat(none.tokens()).isZero();
      assertThat(none.leaseId()).isZero();
    }
    assertThat(ledger.remaining()).isZero();
  }

  @Test
  void returnedTokensAreGrantedAgain() {
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);
    Grant first = ledger.grant("a", 100, 1_000_000, now);
    assertThat(first.tokens()).isEqualTo(100);
    assertThat(ledger.grant("b", 10, 1_000_000, now).tokens()).isZero();

    ledger.release("a", first.leaseId(), 40, now);

    assertThat(ledger.consumed()).isEqualTo(60);
    assertThat(ledger.grant("b", 100, 1_000_000, now).tokens()).isEqualTo(40);
    assertThat(ledger.grant("b", 100, 1_000_000, now).tokens()).isZero();
  }

  @Test
  void aNodeCannotReturnMoreThanItHolds() {
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);
    Grant grant = ledger.grant("a", 30, 1_000_000, now);

    ledger.release("b", grant.leaseId(), 30, now); // not b's lease
    assertThat(ledger.outstanding()).isEqualTo(30);

    ledger.release("a", grant.leaseId(), 1_000, now);
    assertThat(ledger.remaining()).isEqualTo(100);
    assertThat(ledger.consumed()).isZero();
  }

  @Test
  void aRepeatedReleaseIsNotCountedTwiceEvenAfterANewerLease() {
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);
    Grant first = ledger.grant("a", 30, 1_000_000, now);
    ledger.release("a", first.leaseId(), 10, now);
    Grant second = ledger.grant("a", 30, 1_000_000, now);

    ledger.release("a", first.leaseId(), 10, now);

    assertThat(ledger.consumed()).isEqualTo(20);
    assertThat(ledger.outstanding()).isEqualTo(second.tokens());
  }

  @Test
  void expiredLeasesStaySpent() {
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);
    Grant grant = ledger.grant("a", 30, 1_000_000, now);

    now = now.plusSeconds(5);
    ledger.expire(now);
    assertThat(ledger.outstanding()).isZero();
    assertThat(ledger.consumed()).isEqualTo(30);

    ledger.release("a", grant.leaseId(), 30, now); // too late: it may have been admitted
    assertThat(ledger.remaining()).isEqualTo(70);
  }

  @Test
  void aNodeThatDiesLosesOnlyWhatItHeld() {
    LeaseLedger ledger = LeaseLedger.open(1_000, HOUR, TERMS, now);
    long died = ledger.grant("c", 1_000, 400, now).tokens(); // then c is never heard from again
    long granted = 0;
    for (int i = 0; i < 10_000 && ledger.remaining() > 0; i++) {
      now = now.plusMillis(100);
      granted += ledger.grant(i % 2 == 0 ? "a" : "b", 1_000, 400, now).tokens();
    }

    assertThat(died).isEqualTo(100);
    assertThat(granted).isEqualTo(1_000 - died);
  }

  @Test
  void leasesNeverOutliveTheirWindow() {
    now = Instant.parse("2026-11-22T07:59:58Z");
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);

    assertThat(ledger.grant("a", 10, 400, now).expiresAt()).isEqualTo(Instant.parse("2026-11-22T08:00:00Z"));
  }

  @Test
  void aNewWindowStartsFreshAndVoidsTheOldLeases() {
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);
    Grant old = ledger.grant("a", 100, 1_000_000, now);
    assertThat(ledger.remaining()).isZero();

    now = now.plus(Duration.ofHours(1));
    Grant fresh = ledger.grant("a", 60, 1_000_000, now);
    assertThat(fresh.tokens()).isEqualTo(60);
    assertThat(fresh.windowId()).isEqualTo(old.windowId() + 1);

    ledger.release("a", old.leaseId(), 100, now); // from the old window: void
    assertThat(ledger.outstanding()).isEqualTo(60);
    assertThat(ledger.remaining()).isEqualTo(40);
  }

  @Test
  void aClockBehindTheBookDoesNotReopenAnEarlierWindow() {
    LeaseLedger ledger = LeaseLedger.open(100, HOUR, TERMS, now);
    ledger.grant("a", 100, 1_000_000, now);

    ledger.roll(now.minusSeconds(1));

    assertThat(ledger.remaining()).isZero();
  }

  @Test
  void aRestartFromASnapshotKeepsTheUsage() {
    LeaseLedger ledger = LeaseLedger.open(1_000, HOUR, TERMS, now);
    Grant used = ledger.grant("a", 800, 1_000_000, now);
    ledger.release("a", used.leaseId(), 0, now);
    Grant held = ledger.grant("b", 100, 1_000_000, now);
    assertThat(ledger.consumed() + ledger.outstanding()).isEqualTo(900);

    LeaseLedger restarted = LeaseLedger.restore(ledger.snapshot(), 1_000, HOUR, TERMS);

    long granted = 0;
    for (int i = 0; i < 1_000; i++) {
      granted += restarted.grant("c", 1_000, 1_000_000, now).tokens();
    }
    assertThat(granted).isEqualTo(100);
    restarted.release("b", held.leaseId(), 30, now); // b outlived the move and returns what it did not use
    assertThat(restarted.grant("c", 1_000, 1_000_000, now).tokens()).isEqualTo(30);
    assertThat(restarted.grant("c", 1_000, 1_000_000, now).leaseId()).isZero();
  }

  @Test
  void aLowerLimitAfterARestartLeavesNothingToGrant() {
    LeaseLedger ledger = LeaseLedger.open(1_000, HOUR, TERMS, now);
    ledger.grant("a", 900, 1_000_000, now);

    LeaseLedger restarted = LeaseLedger.restore(ledger.snapshot(), 500, HOUR, TERMS);

    assertThat(restarted.remaining()).isZero();
    assertThat(restarted.grant("a", 10, 1_000_000, now).tokens()).isZero();
  }

  @Test
  void aReconfiguredWindowStartsAFreshBookWithLeaseIdsStillIncreasing() {
    LeaseLedger ledger = LeaseLedger.open(1_000, HOUR, TERMS, now);
    Grant old = ledger.grant("a", 900, 1_000_000, now);

    LeaseLedger monthly = LeaseLedger.restore(ledger.snapshot(), 1_000, CalendarWindow.of("month"), TERMS);
    Grant fresh = monthly.grant("a", 1_000, 1_000_000, now);
    monthly.release("a", old.leaseId(), 900, now);

    assertThat(fresh.windowId()).isEqualTo(202611);
    assertThat(fresh.tokens()).isEqualTo(1_000);
    assertThat(fresh.leaseId()).isGreaterThan(old.leaseId());
    assertThat(monthly.outstanding()).isEqualTo(1_000);
  }
}
