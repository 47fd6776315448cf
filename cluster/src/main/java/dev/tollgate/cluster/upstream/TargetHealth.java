package dev.tollgate.cluster.upstream;

import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One target as this node's data plane sees the cluster's verdict on it: the status its guard last
 * published (read from the local replica, never asked for per request), the outcomes this node has
 * not reported yet, and the half-open probe permits it holds. Thread-safe; read and updated on
 * every request, so every read is one volatile load and every update one striped addition.
 *
 * <p>Handles are made by {@link TargetBoard#activate}; one handle per target id serves every
 * config version that has the target.
 */
public final class TargetHealth {

  /** {@link #claim()}'s answer when the target may not take the attempt. */
  public static final long REFUSED = -1;
  /** {@link #claim()}'s answer for an ordinary attempt (not a half-open probe). */
  public static final long ORDINARY = 0;

  private static final int ROUTABLE = 0;
  private static final int PROBES_ONLY = 1;
  private static final int BLOCKED = 2;

  private final String id;
  private final PermitAsker asker;
  private final LongSupplier nanos;
  private volatile TargetStatus status;
  private volatile int mode = ROUTABLE;

  private final LongAdder calls = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private final LongAdder latencyMicros = new LongAdder();
  /** Ended half-open probes, as {epoch, 1 for a success or 0}; at most a few per episode. */
  private final ConcurrentLinkedQueue<long[]> probeOutcomes = new ConcurrentLinkedQueue<>();

  private final AtomicInteger permits = new AtomicInteger();
  private volatile long permitEpoch;
  private volatile long permitSinceNanos;
  private final AtomicBoolean asking = new AtomicBoolean();
  private volatile long nextAskNanos;

  /** How a handle asks its guard for a permit; the answer comes back through {@link #granted}. */
  interface PermitAsker {
    void ask(TargetHealth target);
  }

  TargetHealth(String id, PermitAsker asker, LongSupplier nanos) {
    this.id = Objects.requireNonNull(id, "id");
    this.asker = Objects.requireNonNull(asker, "asker");
    this.nanos = Objects.requireNonNull(nanos, "nanos");
  }

  /**
   * A handle no guard feeds: always routable, its outcomes kept by no one. For targets outside a
   * cluster's config, such as those of balancer tests and tools.
   */
  public static TargetHealth unguarded(String id) {
    return new TargetHealth(id, target -> target.askFailed(Long.MAX_VALUE / 4), System::nanoTime);
  }

  /** {@code upstream/host:port}. */
  public String id() {
    return id;
  }

  /** The status last published for this target; empty until its guard has published one. */
  public java.util.Optional<TargetStatus> status() {
    return java.util.Optional.ofNullable(status);
  }

  /**
   * Whether a balancer may pick this target now. Half-open, that is while this node holds a probe
   * permit; without one, a permit is asked for in the background (at most one ask in flight, and
   * not again within {@link TargetBoard#ASK_AGAIN_AFTER} of a refusal) and the answer is no.
   */
  public boolean admits() {
    int m = mode;
    if (m == ROUTABLE) {
      return true;
    }
    if (m == BLOCKED) {
      return false;
    }
    if (permits.get() > 0) {
      return true;
    }
    if (nanos.getAsLong() - nextAskNanos >= 0 && asking.compareAndSet(false, true)) {
      asker.ask(this);
    }
    return false;
  }

  /**
   * Takes the picked target for one attempt: {@link #ORDINARY}, a half-open probe's epoch (a permit
   * was used up), or {@link #REFUSED} when the target may not take it after all (the last permit
   * went to another request, or the status changed since the pick).
   */
  public long claim() {
    int m = mode;
    if (m == ROUTABLE) {
      return ORDINARY;
    }
    if (m == PROBES_ONLY) {
      long epoch = permitEpoch;
      TargetStatus s = status;
      if (s != null && s.epoch() == epoch) {
        int p;
        while ((p = permits.get()) > 0) {
          if (permits.compareAndSet(p, p - 1)) {
            return epoch;
          }
        }
      }
    }
    return REFUSED;
  }

  /** An attempt taken with {@code claim} ended; {@code failed} as passive health counts failures. */
  public void finished(long claim, boolean failed, long latencyNanos) {
    if (claim > 0) {
      probeOutcomes.add(new long[] {claim, failed ? 0 : 1});
      return;
    }
    calls.increment();
    if (failed) {
      failures.increment();
    }
    latencyMicros.add(latencyNanos / 1000);
  }

  /** An attempt taken with {@code claim} never reached the target (a full queue, say): a probe permit comes back. */
  public void abandoned(long claim) {
    if (claim > 0 && claim == permitEpoch) {
      permits.incrementAndGet();
    }
  }

  /** The guard's answer to this node's ask. */
  void granted(UpstreamGuard.ProbeAnswer answer, long askAgainAfterNanos) {
    TargetStatus s = status;
    if (answer.granted() && s != null && s.epoch() == answer.epoch()) {
      if (permitEpoch != answer.epoch()) {
        permitEpoch = answer.epoch();
        permits.set(0);
      }
      permitSinceNanos = nanos.getAsLong();
      permits.incrementAndGet();
    } else if (answer.granted()) {
      // Granted for an epoch this node no longer (or not yet) sees: given back at once.
      permitEpoch = answer.epoch();
      permitSinceNanos = Long.MIN_VALUE / 2;
      permits.incrementAndGet();
    } else {
      nextAskNanos = nanos.getAsLong() + askAgainAfterNanos;
    }
    asking.set(false);
  }

  /** The ask failed (the guard did not answer): asked again after the pause. */
  void askFailed(long askAgainAfterNanos) {
    nextAskNanos = nanos.getAsLong() + askAgainAfterNanos;
    asking.set(false);
  }

  /** A status from the replica; permits of another epoch are void. */
  void update(TargetStatus next) {
    status = next;
    if (next == null || next.routable()) {
      mode = ROUTABLE;
    } else if (next.probesOnly()) {
      mode = PROBES_ONLY;
    } else {
      mode = BLOCKED;
    }
    if (next == null || next.epoch() != permitEpoch) {
      permits.set(0);
    }
  }

  /** The outcomes since the last call, or null when there were none; for the reporter. */
  UpstreamGuard.Outcomes drain(String node) {
    long c = calls.sumThenReset();
    long f = failures.sumThenReset();
    long l = latencyMicros.sumThenReset();
    long probeEpoch = 0;
    long ok = 0;
    long bad = 0;
    long[] probe;
    while ((probe = probeOutcomes.poll()) != null) {
      // Probes of an older epoch are void; the newest epoch's are reported, also when a slow probe
      // of an older epoch ended after one of the newest.
      if (probe[0] < probeEpoch) {
        continue;
      }
      if (probe[0] > probeEpoch) {
        probeEpoch = probe[0];
        ok = 0;
        bad = 0;
      }
      if (probe[1] == 1) {
        ok++;
      } else {
        bad++;
      }
    }
    // The three sums are not read at one instant: a call that ends while they are read may have its
    // failure or latency in this batch and its call in the next, so a batch without calls still counts.
    if (c == 0 && f == 0 && l == 0 && probeEpoch == 0) {
      return null;
    }
    return new UpstreamGuard.Outcomes(node, c, f, l, probeEpoch, ok, bad);
  }

  /**
   * Takes back the permits held unused for longer than {@code heldNanos}, so that the guard can
   * grant them to a node with traffic.
   *
   * @return the permits' epoch and how many came back, or null when none did
   */
  UpstreamGuard.ReturnProbe takeUnusedPermits(String node, long heldNanos) {
    if (permits.get() == 0 || nanos.getAsLong() - permitSinceNanos < heldNanos) {
      return null;
    }
    long epoch = permitEpoch;
    int p = permits.getAndSet(0);
    return p > 0 ? new UpstreamGuard.ReturnProbe(node, epoch, p) : null;
  }

  @Override
  public String toString() {
    return id;
  }
}
