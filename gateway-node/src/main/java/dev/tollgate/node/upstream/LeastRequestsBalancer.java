package dev.tollgate.node.upstream;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks the available target with the fewest requests in flight on this node. The scan starts at a
 * rotating index and keeps the first of equal loads, so ties are broken in turn rather than always
 * landing on the first target. One pass over the targets per pick, no allocation.
 */
final class LeastRequestsBalancer implements Balancer {

  private final UpstreamTarget[] targets;
  private final UpstreamStatus status;
  private final AtomicInteger cursor = new AtomicInteger();

  LeastRequestsBalancer(UpstreamTarget[] targets, UpstreamStatus status) {
    this.targets = targets;
    this.status = status;
  }

  @Override
  public UpstreamTarget pick(HashInput request, List<UpstreamTarget> tried) {
    int n = targets.length;
    int start = Math.floorMod(cursor.getAndIncrement(), n);
    UpstreamTarget best = null;
    int bestLoad = Integer.MAX_VALUE;
    for (int step = 0; step < n; step++) {
      int index = start + step;
      UpstreamTarget target = targets[index < n ? index : index - n];
      int load = target.inFlight();
      // The load is compared first: it is one plain atomic read, the health check may read a clock.
      if (load < bestLoad && Balancers.isCandidate(target, status, tried)) {
        best = target;
        bestLoad = load;
        if (load <= 0) {
          break;
        }
      }
    }
    return best;
  }
}
