package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.cluster.quota.LeaseLedger.Grant;
import dev.tollgate.cluster.quota.LeaseLedger.Terms;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The acceptance criteria of {@link LeaseLedger}: randomized runs of three nodes with skewed demand
 * (70/20/10) against one book. Seeds are fixed, so a failure names a seed that reproduces it.
 */
class LeaseLedgerInvariantsTest {

  private static final List<String> NODES = List.of("a", "b", "c");
  private static final int[] WEIGHTS = {70, 20, 10};

  /** One lease as its node sees it. */
  private static final class HeldByNode {
    final Grant grant;
    long unused;
    boolean released;

    HeldByNode(Grant grant) {
      this.grant = grant;
      this.unused = grant.tokens();
    }
  }

  private record Release(String node, long leaseId, long unused) {}

  @Test
  void grantedMinusReturnedNeverExceedsTheLimitAndNodesNeverAdmitMore() {
    for (long seed = 1; seed <= 300; seed++) {
      safetyRun(seed);
    }
  }

  private void safetyRun(long seed) {
    Random random = new Random(seed);
    CalendarWindow window = CalendarWindow.of("1m");
    long limit = 20 + random.nextInt(2_000);
    Instant now = Instant.parse("2026-11-22T07:00:00Z").plusMillis(random.nextInt(60_000));
    LeaseLedger ledger = LeaseLedger.open(limit, window, Terms.DEFAULT, now);
    Map<String, List<HeldByNode>> nodes = new HashMap<>();
    NODES.forEach(n -> nodes.put(n, new ArrayList<>()));
    Map<Long, Long> netGranted = new HashMap<>(); // per window: granted minus returned
    Map<Long, Long> admitted = new HashMap<>(); // per window: what the nodes let through
    List<Release> sent = new ArrayList<>();

    for (int step = 0; step < 3_000; step++) {
      String node = pickSkewed(random);
      List<HeldByNode> held = nodes.get(node);
      int action = random.nextInt(100);
      if (action < 40) {
        Grant grant = ledger.grant(node, 1 + random.nextInt(300), random.nextInt(3_000), now);
        netGranted.merge(grant.windowId(), grant.tokens(), Long::sum);
        if (grant.tokens() > 0) {
          held.add(new HeldByNode(grant));
        }
      } else if (action < 70) {
        long want = 1 + random.nextInt(100);
        for (HeldByNode lease : held) {
          if (!lease.released && now.isBefore(lease.grant.expiresAt())) {
            long take = Math.min(want, lease.unused);
            lease.unused -= take;
            want -= take;
            admitted.merge(lease.grant.windowId(), take, Long::sum);
          }
        }
      } else if (action < 85) {
        release(ledger, node, held, now, netGranted, sent);
      } else if (action < 90 && !sent.isEmpty()) {
        Release again = sent.get(random.nextInt(sent.size())); // a retried or duplicated message
        long before = spent(ledger, now);
        ledger.release(again.node(), again.leaseId(), again.unused(), now);
        netGranted.merge(ledger.windowId(), before - spent(ledger, now), (x, y) -> x - y);
      } else if (action < 99) {
        now = now.plusMillis(random.nextInt(3_000));
      } else {
        now = now.plusSeconds(20 + random.nextInt(70));
      }
      if (random.nextInt(50) == 0) {
        ledger.expire(now);
      }

      long w = ledger.windowId();
      assertThat(netGranted.getOrDefault(w, 0L)).as("seed %d step %d: granted - returned", seed, step)
          .isLessThanOrEqualTo(limit);
      assertThat(admitted.getOrDefault(w, 0L)).as("seed %d step %d: admitted", seed, step)
          .isLessThanOrEqualTo(limit);
      assertThat(ledger.consumed() + ledger.outstanding()).as("seed %d step %d: spent", seed, step)
          .isLessThanOrEqualTo(limit);
    }
  }

  /** A well-behaved node returns, under its newest lease id, what is left of that window's leases. */
  private static void release(
      LeaseLedger ledger, String node, List<HeldByNode> held, Instant now, Map<Long, Long> netGranted,
      List<Release> sent) {
    HeldByNode newest = null;
    for (HeldByNode lease : held) {
      if (!lease.released && (newest == null || lease.grant.leaseId() > newest.grant.leaseId())) {
        newest = lease;
      }
    }
    if (newest == null) {
      return;
    }
    long unused = 0;
    for (HeldByNode lease : held) {
      if (!lease.released && lease.grant.windowId() == newest.grant.windowId()) {
        unused += lease.unused;
        lease.unused = 0;
        lease.released = true;
      }
    }
    long before = spent(ledger, now);
    ledger.release(node, newest.grant.leaseId(), unused, now);
    long returned = before - spent(ledger, now);
    assertThat(returned).isBetween(0L, unused);
    netGranted.merge(ledger.windowId(), returned, (x, y) -> x - y);
    sent.add(new Release(node, newest.grant.leaseId(), unused));
  }

  /** Brings the book up to {@code now} first, so that the difference is the release's alone. */
  private static long spent(LeaseLedger ledger, Instant now) {
    ledger.roll(now);
    ledger.expire(now);
    return ledger.consumed() + ledger.outstanding();
  }

  @Test
  void underDemandAboveTheLimitNearlyAllOfItIsAdmitted() {
    for (long seed = 1; seed <= 20; seed++) {
      utilityRun(seed, false);
      utilityRun(seed, true);
    }
  }

  /**
   * Nodes admit from their leases every 10 ms and ask for the next lease when theirs runs low; the
   * demand is 1.5 times the limit over the hour. With {@code returning}, nodes now and then give back
   * what is left (as on shutdown or going idle).
   */
  private void utilityRun(long seed, boolean returning) {
    Random random = new Random(seed);
    CalendarWindow window = CalendarWindow.of("hour");
    long limit = 10_000 + random.nextInt(100_000);
    Instant start = Instant.parse("2026-11-22T07:00:00Z");
    Instant end = window.end(start);
    LeaseLedger ledger = LeaseLedger.open(limit, window, Terms.DEFAULT, start);
    double perTick = 1.5 * limit / (3_600_000 / 10.0);
    Map<String, HeldByNode> leases = new HashMap<>();
    long admitted = 0;
    double[] owed = new double[3];

    for (Instant now = start; now.isBefore(end); now = now.plusMillis(10)) {
      for (int i = 0; i < 3; i++) {
        String node = NODES.get(i);
        owed[i] += perTick * WEIGHTS[i] / 100.0;
        long demand = (long) owed[i];
        owed[i] -= demand;
        long perSecond = Math.round(perTick * WEIGHTS[i]);
        HeldByNode lease = leases.get(node);
        boolean usable = lease != null && now.isBefore(lease.grant.expiresAt());
        if (!usable || lease.unused < Math.max(1, lease.grant.tokens() * 3 / 10)) {
          Grant grant = ledger.grant(node, Math.max(1, perSecond), perSecond, now);
          if (grant.tokens() > 0) {
            HeldByNode next = new HeldByNode(grant);
            next.unused += usable ? lease.unused : 0; // the node merges what it still holds
            leases.put(node, next);
            lease = next;
            usable = true;
          }
        }
        if (usable) {
          long take = Math.min(demand, lease.unused);
          lease.unused -= take;
          admitted += take;
        }
        if (returning && usable && random.nextInt(20_000) == 0) {
          ledger.release(node, lease.grant.leaseId(), lease.unused, now);
          leases.remove(node);
        }
      }
    }

    assertThat(admitted).as("seed %d, returning %s", seed, returning)
        .isLessThanOrEqualTo(limit)
        .isGreaterThanOrEqualTo((long) Math.ceil(0.98 * limit));
  }

  private static String pickSkewed(Random random) {
    int roll = random.nextInt(100);
    return roll < WEIGHTS[0] ? "a" : roll < WEIGHTS[0] + WEIGHTS[1] ? "b" : "c";
  }
}
