package dev.tollgate.node.upstream;

import dev.tollgate.config.HashKey;
import java.util.Arrays;
import java.util.List;

/**
 * A ketama-style hash ring: each target owns {@value #POINTS_PER_TARGET} points on average, scaled
 * by its share of the total weight, placed by hashing {@code host:port#i}. A request's key (a header,
 * a cookie, or the client IP; a missing or empty header or cookie falls back to the client IP) is
 * hashed with {@link RingHash} and served by the owner of the first point at or after it.
 *
 * <p>When the owner is unavailable or already tried, the walk goes on along the ring to the next
 * point whose owner may take the request. Other targets' keys therefore never move, and the keys
 * come back when the owner does. Points depend only on a target's address and its share of the
 * weight, so removing one of N equally weighted targets moves about 1/N of the keys.
 */
final class ConsistentHashBalancer implements Balancer {

  static final int POINTS_PER_TARGET = 160;

  private final UpstreamTarget[] targets;
  private final UpstreamStatus status;
  private final HashKey key;
  /** Sorted ring positions; {@code owners[i]} owns {@code points[i]}. */
  private final long[] points;
  private final UpstreamTarget[] owners;

  ConsistentHashBalancer(UpstreamTarget[] targets, UpstreamStatus status, HashKey key) {
    this.targets = targets;
    this.status = status;
    this.key = key;
    long totalWeight = 0;
    for (UpstreamTarget target : targets) {
      totalWeight += target.target().weight();
    }
    int[] counts = new int[targets.length];
    int size = 0;
    for (int i = 0; i < targets.length; i++) {
      double share = (double) targets[i].target().weight() / totalWeight;
      counts[i] = (int) Math.max(1, Math.round(POINTS_PER_TARGET * targets.length * share));
      size += counts[i];
    }
    Point[] ring = new Point[size];
    int next = 0;
    for (int i = 0; i < targets.length; i++) {
      String authority = targets[i].target().authority();
      for (int p = 0; p < counts[i]; p++) {
        ring[next++] = new Point(RingHash.hash(authority + "#" + p), i);
      }
    }
    // Ties (vanishingly rare) go to the target listed first, so a ring is the same on every node.
    Arrays.sort(ring, (a, b) -> a.position != b.position ? Long.compare(a.position, b.position) : Integer.compare(a.target, b.target));
    points = new long[size];
    owners = new UpstreamTarget[size];
    for (int i = 0; i < size; i++) {
      points[i] = ring[i].position;
      owners[i] = targets[ring[i].target];
    }
  }

  @Override
  public UpstreamTarget pick(HashInput request, List<UpstreamTarget> tried) {
    int index = ownerIndex(RingHash.hash(keyOf(request)));
    UpstreamTarget owner = owners[index];
    if (Balancers.isCandidate(owner, status, tried)) {
      return owner;
    }
    if (!Balancers.anyCandidate(targets, status, tried)) {
      return null;
    }
    int length = owners.length;
    for (int step = 1; step < length; step++) {
      int at = index + step;
      UpstreamTarget target = owners[at < length ? at : at - length];
      if (target != owner && Balancers.isCandidate(target, status, tried)) {
        return target;
      }
    }
    return null;
  }

  /** The text hashed for a request. */
  String keyOf(HashInput request) {
    String value = null;
    switch (key.source()) {
      case HEADER:
        value = request.header(key.name());
        break;
      case COOKIE:
        value = request.cookie(key.name());
        break;
      case CLIENT_IP:
        break;
    }
    if (value == null || value.isEmpty()) {
      value = request.clientIp();
    }
    return value == null ? "" : value;
  }

  /** The index of the first point at or after {@code hash}, wrapping past the end of the ring. */
  private int ownerIndex(long hash) {
    int found = Arrays.binarySearch(points, hash);
    int index = found >= 0 ? found : -found - 1;
    return index == points.length ? 0 : index;
  }

  /** The number of ring points of each target; for tests. */
  int pointsOf(UpstreamTarget target) {
    int count = 0;
    for (UpstreamTarget owner : owners) {
      if (owner == target) {
        count++;
      }
    }
    return count;
  }

  private record Point(long position, int target) {}
}
