package dev.tollgate.loadtests.jmh;

import dev.tollgate.cluster.quota.LeaseLedger.Grant;
import dev.tollgate.cluster.quota.LocalLease;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The node-side admit decision of a request under a quota, as the request path will make it: count
 * the demand ({@link LocalLease#recordDemand()}), then take a token ({@link LocalLease#tryAcquire()}).
 * The lease reads {@code System::nanoTime}, the clock production gives it. Checked against a median
 * of at most 1 µs per decision (see docs/benchmarks.md).
 *
 * <p>About 100 s in all: 3 benchmarks × 2 modes × (5 × 1 s warm-up + 5 × 2 s measured), one fork each.
 */
@BenchmarkMode({Mode.SampleTime, Mode.Throughput})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
public class LocalLeaseBenchmark {

  /**
   * A lease that never runs dry: one grant of 2^62 tokens lasts millennia at any rate this can reach,
   * and its expiry is a day away, so no top-up is needed between iterations.
   */
  @State(Scope.Benchmark)
  public static class GrantedLease {
    final LocalLease lease = new LocalLease(System::nanoTime);

    @Setup(Level.Trial)
    public void grant() {
      Instant now = Instant.now();
      lease.accept(new Grant(1, 1L << 62, now.plus(Duration.ofDays(1)), 1), now);
    }

    /** Fails the run rather than let it measure refusals under an admitting benchmark's name. */
    @TearDown(Level.Iteration)
    public void stillAdmitting() {
      if (lease.remaining() == 0) {
        throw new IllegalStateException("the lease ran dry; the figures would be of refusals");
      }
    }
  }

  /**
   * A lease that is valid but has no token left: the refusal of a consumer over its quota, the
   * longer of the two refusing paths (an expired lease stops at the clock check).
   */
  @State(Scope.Benchmark)
  public static class EmptyLease {
    final LocalLease lease = new LocalLease(System::nanoTime);

    @Setup(Level.Trial)
    public void grantOneAndSpendIt() {
      Instant now = Instant.now();
      lease.accept(new Grant(1, 1, now.plus(Duration.ofDays(1)), 1), now);
      if (!lease.tryAcquire() || lease.tryAcquire()) {
        throw new IllegalStateException("expected exactly one token");
      }
    }
  }

  /** One request thread admitting. */
  @Benchmark
  public boolean tryAcquire(GrantedLease state) {
    state.lease.recordDemand();
    return state.lease.tryAcquire();
  }

  /** Two request threads admitting from the same lease (both CAS on the same token and demand words). */
  @Benchmark
  @Threads(2)
  public boolean tryAcquireContended(GrantedLease state) {
    state.lease.recordDemand();
    return state.lease.tryAcquire();
  }

  /** One request thread refused by an empty, unexpired lease. */
  @Benchmark
  public boolean tryAcquireDenied(EmptyLease state) {
    state.lease.recordDemand();
    return state.lease.tryAcquire();
  }
}
