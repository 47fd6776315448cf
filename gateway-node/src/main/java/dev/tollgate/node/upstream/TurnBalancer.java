package dev.tollgate.node.upstream;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Round-robin and smooth weighted round-robin: walks a sequence of turns computed once, with one
 * shared atomic cursor. For round-robin the sequence is the targets in order; for weighted it is
 * nginx's smooth weighted round-robin over the weights (reduced by their greatest common divisor),
 * so 5:1:1 gives {@code a a b a c a a}, not {@code a a a a a b c}.
 *
 * <p>A turn that falls on an unavailable or tried target is consumed and the next one taken, so the
 * remaining targets keep their relative shares. After as many skipped turns as there are targets,
 * the rest of the sequence is scanned without consuming turns; that bounds the cost when a heavy
 * target is down.
 */
final class TurnBalancer implements Balancer {

  private final UpstreamTarget[] targets;
  private final UpstreamTarget[] turns;
  private final UpstreamStatus status;
  private final AtomicLong cursor = new AtomicLong();

  private TurnBalancer(UpstreamTarget[] targets, UpstreamTarget[] turns, UpstreamStatus status) {
    this.targets = targets;
    this.turns = turns;
    this.status = status;
  }

  static TurnBalancer roundRobin(UpstreamTarget[] targets, UpstreamStatus status) {
    return new TurnBalancer(targets, targets.clone(), status);
  }

  static TurnBalancer weighted(UpstreamTarget[] targets, UpstreamStatus status) {
    return new TurnBalancer(targets, smoothWeightedTurns(targets), status);
  }

  /** nginx's smooth weighted round-robin, run once through a whole cycle of the reduced weights. */
  static UpstreamTarget[] smoothWeightedTurns(UpstreamTarget[] targets) {
    int n = targets.length;
    int[] weights = new int[n];
    int divisor = 0;
    for (int i = 0; i < n; i++) {
      weights[i] = targets[i].target().weight();
      divisor = gcd(divisor, weights[i]);
    }
    int total = 0;
    for (int i = 0; i < n; i++) {
      weights[i] /= divisor;
      total += weights[i];
    }
    UpstreamTarget[] turns = new UpstreamTarget[total];
    long[] current = new long[n];
    for (int turn = 0; turn < total; turn++) {
      int best = 0;
      for (int i = 0; i < n; i++) {
        current[i] += weights[i];
        if (current[i] > current[best]) {
          best = i;
        }
      }
      current[best] -= total;
      turns[turn] = targets[best];
    }
    return turns;
  }

  private static int gcd(int a, int b) {
    while (b != 0) {
      int r = a % b;
      a = b;
      b = r;
    }
    return a;
  }

  @Override
  public UpstreamTarget pick(HashInput request, List<UpstreamTarget> tried) {
    int length = turns.length;
    long turn = cursor.getAndIncrement();
    UpstreamTarget target = turns[(int) (turn % length)];
    if (Balancers.isCandidate(target, status, tried)) {
      return target;
    }
    for (int skipped = 1; skipped < targets.length; skipped++) {
      turn = cursor.getAndIncrement();
      target = turns[(int) (turn % length)];
      if (Balancers.isCandidate(target, status, tried)) {
        return target;
      }
    }
    if (!Balancers.anyCandidate(targets, status, tried)) {
      return null;
    }
    for (int step = 1; step < length; step++) {
      target = turns[(int) ((turn + step) % length)];
      if (Balancers.isCandidate(target, status, tried)) {
        return target;
      }
    }
    // Health changed under us between the check and the scan.
    return null;
  }

  /** The precomputed cycle of turns; for tests. */
  List<UpstreamTarget> turns() {
    return List.of(turns);
  }
}
