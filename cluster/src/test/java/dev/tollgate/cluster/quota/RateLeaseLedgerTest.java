package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.quota.LeaseLedger.Grant;
import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RateLeaseLedgerTest {

  private static final Terms TERMS = new Terms(Duration.ofSeconds(1), Duration.ofMillis(250), 4);

  private final SteppedNanos nanos = new SteppedNanos();
  private Instant now = Instant.parse("2026-11-22T07:00:00Z");

  /** 100 per second with a burst of 200. */
  private RateLeaseLedger ledger() {
    return new RateLeaseLedger(new TokenBucket(200, 100, Duration.ofSeconds(1), nanos), TERMS);
  }

  private void advance(Duration step) {
    nanos.advance(step);
    now = now.plus(step);
  }

  @Test
  void aLeaseIsTakenFromTheBucket() {
    RateLeaseLedger ledger = ledger();

    Grant grant = ledger.grant("a", 1_000, 200, now);

    assertThat(grant.tokens()).isEqualTo(50); // 200/s over 250 ms
    assertThat(grant.windowId()).isZero();
    assertThat(grant.expiresAt()).isEqualTo(now.plusSeconds(1));
    assertThat(ledger.available()).isEqualTo(150);
    assertThat(ledger.outstanding()).isEqualTo(50);
  }

  @Test
  void returnedTokensGoBackIntoTheBucketOnce() {
    RateLeaseLedger ledger = ledger();
    Grant first = ledger.grant("a", 1_000, 10_000, now);
    assertThat(first.tokens()).isEqualTo(200);

    ledger.release("a", first.leaseId(), 80, now);
    ledger.release("a", first.leaseId(), 80, now);

    assertThat(ledger.available()).isEqualTo(80);
    assertThat(ledger.grant("b", 1_000, 10_000, now).tokens()).isEqualTo(80);
  }

  @Test
  void aNodeCannotReturnMoreThanItHolds() {
    RateLeaseLedger ledger = ledger();
    Grant grant = ledger.grant("a", 30, 10_000, now);

    ledger.release("a", grant.leaseId(), 1_000, now);

    assertThat(ledger.available()).isEqualTo(200);
  }

  @Test
  void expiredLeasesGiveNothingBack() {
    RateLeaseLedger ledger = ledger();
    Grant grant = ledger.grant("a", 1_000, 10_000, now);

    now = now.plusSeconds(1); // the lease's clock only: the bucket does not refill
    ledger.release("a", grant.leaseId(), 200, now);

    assertThat(ledger.outstanding()).isZero();
    assertThat(ledger.available()).isZero();
  }

  @Test
  void anEmptyBucketGrantsNothingAndSaysWhenToRetry() {
    RateLeaseLedger ledger = ledger();
    ledger.grant("a", 1_000, 10_000, now);

    assertThat(ledger.grant("a", 1_000, 10_000, now).tokens()).isZero();
    assertThat(ledger.retryAfter()).isEqualTo(Duration.ofMillis(10));
  }

  @Test
  void nodesNeverAdmitMoreThanTheBucketAllowsAndUseNearlyAllOfIt() {
    for (long seed = 1; seed <= 20; seed++) {
      run(seed);
    }
  }

  /**
   * Three nodes at 70/20/10 of a demand of twice the rate admit from their leases every 10 ms, ask
   * when low, and now and then return what is left; for one minute.
   */
  private void run(long seed) {
    Random random = new Random(seed);
    RateLeaseLedger ledger = ledger();
    List<String> nodes = List.of("a", "b", "c");
    int[] weights = {70, 20, 10};
    Map<String, Grant> grants = new HashMap<>();
    Map<String, Long> unused = new HashMap<>();
    long admitted = 0;
    Duration elapsed = Duration.ZERO;

    for (int tick = 0; tick < 6_000; tick++) {
      for (int i = 0; i < 3; i++) {
        String node = nodes.get(i);
        int perHundredTicks = 2 * weights[i]; // twice the rate of 1 per 10 ms, times the node's share
        long demand = perHundredTicks / 100 + (random.nextInt(100) < perHundredTicks % 100 ? 1 : 0);
        Grant grant = grants.get(node);
        boolean usable = grant != null && now.isBefore(grant.expiresAt());
        long left = usable ? unused.get(node) : 0;
        if (left < demand) {
          Grant next = ledger.grant(node, 200, 2L * weights[i], now);
          if (next.tokens() > 0) {
            grants.put(node, next);
            left += next.tokens();
            usable = true;
          }
        }
        long take = usable ? Math.min(demand, left) : 0;
        admitted += take;
        unused.put(node, left - take);
        if (usable && random.nextInt(500) == 0) {
          ledger.release(node, grants.get(node).leaseId(), left - take, now);
          grants.remove(node);
        }
      }
      advance(Duration.ofMillis(10));
      elapsed = elapsed.plusMillis(10);
      long allowed = 200 + 100 * (elapsed.toMillis() + 1_000) / 1_000;
      assertThat(admitted).as("seed %d tick %d", seed, tick).isLessThanOrEqualTo(allowed);
    }
    assertThat(admitted).as("seed %d", seed).isGreaterThanOrEqualTo((long) (0.98 * 100 * 60));
  }
}
