package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TokenBucketTest {

  private final SteppedNanos clock = new SteppedNanos();

  @Test
  void startsFullAndTakesNoMoreThanAvailable() {
    TokenBucket bucket = new TokenBucket(200, 100, Duration.ofSeconds(1), clock);

    assertThat(bucket.available()).isEqualTo(200);
    assertThat(bucket.take(150)).isEqualTo(150);
    assertThat(bucket.take(80)).isEqualTo(50);
    assertThat(bucket.take(1)).isZero();
    assertThat(bucket.available()).isZero();
  }

  @Test
  void refillsAtTheRateAndStopsAtTheBurst() {
    TokenBucket bucket = new TokenBucket(200, 100, Duration.ofSeconds(1), clock);
    bucket.take(200);

    clock.advance(Duration.ofMillis(500));
    assertThat(bucket.available()).isEqualTo(50);

    clock.advance(Duration.ofHours(10));
    assertThat(bucket.available()).isEqualTo(200);
  }

  @Test
  void manySmallStepsRefillExactlyLikeOneLargeStep() {
    TokenBucket stepped = new TokenBucket(1_000, 7, Duration.ofSeconds(3), clock);
    stepped.take(1_000);

    // 3000 steps of 1 ms: each adds 7/3000 of a token, which would round to 0 without the remainder
    for (int i = 0; i < 3_000; i++) {
      clock.advance(Duration.ofMillis(1));
      stepped.available();
    }

    assertThat(stepped.available()).isEqualTo(7);
  }

  @Test
  void timeUntilSaysWhenTheTokensWillBeThere() {
    TokenBucket bucket = new TokenBucket(10, 2, Duration.ofSeconds(1), clock);
    bucket.take(10);

    assertThat(bucket.timeUntil(0)).isZero();
    assertThat(bucket.timeUntil(1)).isEqualTo(Duration.ofMillis(500));
    assertThat(bucket.timeUntil(3)).isEqualTo(Duration.ofMillis(1_500));

    clock.advance(Duration.ofMillis(1_500));
    assertThat(bucket.timeUntil(3)).isZero();
    assertThat(bucket.take(3)).isEqualTo(3);
  }

  @Test
  void timeUntilCountsThePartlyRefilledToken() {
    TokenBucket bucket = new TokenBucket(5, 3, Duration.ofSeconds(1), clock);
    bucket.take(5);
    clock.advance(Duration.ofMillis(100)); // 0.3 of a token

    assertThat(bucket.timeUntil(1)).isEqualTo(Duration.ofNanos(233_333_334));
  }

  @Test
  void timeUntilMoreThanTheBurstIsAMistake() {
    TokenBucket bucket = new TokenBucket(5, 3, Duration.ofSeconds(1), clock);

    assertThatThrownBy(() -> bucket.timeUntil(6)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("capacity 5");
  }

  @Test
  void timeUntilIsExactForSlowBucketsWithLargeBursts() {
    TokenBucket bucket = new TokenBucket(1_000_000_000L, 1, Duration.ofDays(1), clock);
    bucket.take(1_000_000_000L);

    assertThat(bucket.timeUntil(1_000_000_000L)).isEqualTo(Duration.ofDays(1_000_000_000L));
  }

  @Test
  void givenBackTokensAreAvailableAgainButNeverAboveTheBurst() {
    TokenBucket bucket = new TokenBucket(100, 10, Duration.ofSeconds(1), clock);
    bucket.take(60);

    bucket.giveBack(20);
    assertThat(bucket.available()).isEqualTo(60);

    bucket.giveBack(1_000);
    assertThat(bucket.available()).isEqualTo(100);
  }

  @Test
  void aFullBucketDoesNotBankRefill() {
    TokenBucket bucket = new TokenBucket(10, 1, Duration.ofSeconds(1), clock);
    clock.advance(Duration.ofMillis(900));
    bucket.take(1);

    clock.advance(Duration.ofMillis(100));
    assertThat(bucket.available()).isEqualTo(9);
  }

  @Test
  void rejectsNonsense() {
    assertThatThrownBy(() -> new TokenBucket(0, 1, Duration.ofSeconds(1), clock))
        .hasMessage("capacity: 0 (expected: at least 1)");
    assertThatThrownBy(() -> new TokenBucket(1, 0, Duration.ofSeconds(1), clock))
        .hasMessage("requests: 0 (expected: at least 1)");
    assertThatThrownBy(() -> new TokenBucket(1, 1, Duration.ZERO, clock))
        .hasMessage("per: PT0S (expected: a positive duration)");
    TokenBucket bucket = new TokenBucket(1, 1, Duration.ofSeconds(1), clock);
    assertThatThrownBy(() -> bucket.take(-1)).hasMessage("wanted: -1 (expected: 0 or more)");
  }
}
