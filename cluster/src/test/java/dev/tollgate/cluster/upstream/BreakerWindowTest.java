package dev.tollgate.cluster.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The breaker's sliding window, stepped by explicit times: a 1 s window is 10 buckets of 100 ms. */
class BreakerWindowTest {

  private final BreakerWindow window = new BreakerWindow(1_000);

  @Test
  void countsEveryCallWithinTheWindow() {
    window.record(10_000, 5, 2);
    window.record(10_050, 3, 0);
    window.record(10_420, 4, 4);

    assertThat(window.calls(10_500)).isEqualTo(12);
    assertThat(window.failures(10_500)).isEqualTo(6);
  }

  @Test
  void aBucketCountsUntilTheWindowHasPassedItAndThenForNothing() {
    window.record(10_000, 5, 5); // bucket 100: 10 000 to 10 099 ms
    window.record(10_500, 2, 1); // bucket 105

    assertThat(window.calls(10_999)).as("bucket 100 is the oldest of the ten").isEqualTo(7);
    assertThat(window.failures(10_999)).isEqualTo(6);
    assertThat(window.calls(11_000)).as("bucket 100 has left the window").isEqualTo(2);
    assertThat(window.failures(11_000)).isEqualTo(1);
    assertThat(window.calls(11_499)).isEqualTo(2);
    assertThat(window.calls(11_500)).as("both have left").isZero();
    assertThat(window.failures(11_500)).isZero();
  }

  @Test
  void aSlotReusedByANewerBucketForgetsWhatItHeld() {
    window.record(10_000, 5, 5);
    // 1 s later the same slot holds bucket 110, not 100 plus 110.
    window.record(11_000, 1, 0);

    assertThat(window.calls(11_000)).isEqualTo(1);
    assertThat(window.failures(11_000)).isZero();
  }

  @Test
  void tripsAtExactlyTheMinimumCallsAndNotOneCallBelow() {
    window.record(10_000, 9, 9);
    assertThat(window.trips(10_000, 10, 50)).as("9 calls, all failed, minimum 10").isFalse();

    window.record(10_000, 1, 0);
    assertThat(window.trips(10_000, 10, 50)).as("10 calls, 9 failed").isTrue();
  }

  @Test
  void tripsAtExactlyTheThresholdPercentAndNotBelow() {
    window.record(10_000, 10, 4);
    assertThat(window.trips(10_000, 10, 50)).as("40 %").isFalse();
    window.record(10_000, 0, 1);
    assertThat(window.trips(10_000, 10, 50)).as("50 % of 10").isTrue();
    assertThat(window.trips(10_000, 10, 51)).isFalse();
  }

  @Test
  void aRateThatIsNotAWholePercentIsComparedExactly() {
    window.record(10_000, 3, 1); // 33.3 %
    assertThat(window.trips(10_000, 1, 33)).isTrue();
    assertThat(window.trips(10_000, 1, 34)).isFalse();

    BreakerWindow all = new BreakerWindow(1_000);
    all.record(10_000, 7, 6);
    assertThat(all.trips(10_000, 1, 100)).as("6 of 7 is not 100 %").isFalse();
    all.record(10_000, 1, 1);
    assertThat(all.trips(10_000, 1, 100)).as("7 of 8 neither").isFalse();
    BreakerWindow every = new BreakerWindow(1_000);
    every.record(10_000, 4, 4);
    assertThat(every.trips(10_000, 1, 100)).isTrue();
  }

  @Test
  void callsThatLeftTheWindowNoLongerCountTowardsTheMinimum() {
    window.record(10_000, 9, 9);
    window.record(10_950, 1, 1);
    assertThat(window.trips(10_999, 10, 50)).isTrue();
    assertThat(window.trips(11_000, 10, 50)).as("the 9 of bucket 100 are gone").isFalse();
  }

  @Test
  void anEmptyWindowNeverTrips() {
    assertThat(window.calls(10_000)).isZero();
    assertThat(window.trips(10_000, 1, 1)).isFalse();
  }

  @Test
  void clearForgetsEveryCallAndTheWindowCountsAgainAfterwards() {
    window.record(10_000, 20, 20);
    window.record(10_300, 20, 20);

    window.clear();

    assertThat(window.calls(10_300)).isZero();
    assertThat(window.failures(10_300)).isZero();
    assertThat(window.trips(10_300, 1, 1)).isFalse();
    window.record(10_300, 2, 1);
    assertThat(window.calls(10_300)).isEqualTo(2);
    assertThat(window.failures(10_300)).isEqualTo(1);
  }

  @Test
  void refusesAWindowThatIsNotPositive() {
    assertThatThrownBy(() -> new BreakerWindow(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new BreakerWindow(-1_000)).isInstanceOf(IllegalArgumentException.class);
  }
}
