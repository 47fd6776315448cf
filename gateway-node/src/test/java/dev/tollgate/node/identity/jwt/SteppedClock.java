package dev.tollgate.node.identity.jwt;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** A clock that stands still until a test steps it. */
final class SteppedClock extends Clock {

  private final AtomicReference<Instant> now;

  SteppedClock(Instant start) {
    this.now = new AtomicReference<>(start);
  }

  void step(Duration by) {
    now.updateAndGet(t -> t.plus(by));
  }

  @Override
  public Instant instant() {
    return now.get();
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("tests need no other zone");
  }
}
