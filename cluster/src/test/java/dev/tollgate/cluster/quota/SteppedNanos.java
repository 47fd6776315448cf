package dev.tollgate.cluster.quota;

import java.time.Duration;
import java.util.function.LongSupplier;

/** A nanosecond clock that tests step by hand instead of sleeping. */
final class SteppedNanos implements LongSupplier {

  private long nanos = 1_000_000_000L;

  @Override
  public long getAsLong() {
    return nanos;
  }

  void advance(Duration step) {
    nanos += step.toNanos();
  }
}
