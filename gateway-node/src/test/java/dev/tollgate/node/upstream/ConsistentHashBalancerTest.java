package dev.tollgate.node.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tollgate.config.BalancerKind;
import dev.tollgate.config.HashKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConsistentHashBalancerTest {

  private static final int KEYS = 10_000;

  private final SwitchedStatus status = new SwitchedStatus();

  @Test
  void theSameKeyAlwaysLandsOnTheSameTarget() {
    Balancer balancer = byHeader(SampleTargets.equal(5));

    for (int k = 0; k < 100; k++) {
      SampleRequest request = SampleRequest.withHeader("X-User", "user-" + k, "192.0.2." + k);
      UpstreamTarget first = balancer.pick(request, List.of());
      for (int i = 0; i < 100; i++) {
        // Different client addresses do not matter while the header is there.
        SampleRequest again = SampleRequest.withHeader("x-user", "user-" + k, "198.51.100." + i);
        assertThat(balancer.pick(again, List.of())).isSameAs(first);
      }
    }
  }

  @Test
  void keysSpreadEvenlyOverEquallyWeightedTargets() {
    List<UpstreamTarget> targets = SampleTargets.equal(5);
    Map<UpstreamTarget, Integer> counts = new HashMap<>();
    for (UpstreamTarget owner : owners(byHeader(targets))) {
      counts.merge(owner, 1, Integer::sum);
    }

    assertThat(counts).containsOnlyKeys(targets);
    for (UpstreamTarget target : targets) {
      assertThat(counts.get(target) / (double) KEYS).as(target.id()).isCloseTo(0.20, within(0.05));
    }
  }

  @Test
  void weightScalesTheNumberOfPointsAndTheShareOfKeys() {
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 3);
    ConsistentHashBalancer ring = new ConsistentHashBalancer(
        targets.toArray(new UpstreamTarget[0]), status, HashKey.header("X-User"));

    assertThat(ring.pointsOf(targets.get(0))).isEqualTo(80);
    assertThat(ring.pointsOf(targets.get(1))).isEqualTo(240);
    long heavy = owners(ring).stream().filter(t -> t == targets.get(1)).count();
    assertThat(heavy / (double) KEYS).isCloseTo(0.75, within(0.06));
  }

  @Test
  void whenATargetIsUnavailableOnlyItsKeysMoveAndTheyComeBackWithIt() {
    List<UpstreamTarget> targets = SampleTargets.equal(5);
    UpstreamTarget down = targets.get(2);
    Balancer balancer = byHeader(targets);
    List<UpstreamTarget> before = owners(balancer);

    status.switchOff(down);
    List<UpstreamTarget> during = owners(balancer);

    Map<UpstreamTarget, Integer> heirs = new HashMap<>();
    int moved = 0;
    for (int k = 0; k < KEYS; k++) {
      if (before.get(k) == down) {
        assertThat(during.get(k)).isNotSameAs(down);
        heirs.merge(during.get(k), 1, Integer::sum);
        moved++;
      } else {
        assertThat(during.get(k)).as("key %d of another target", k).isSameAs(before.get(k));
      }
    }
    assertThat(moved / (double) KEYS).isCloseTo(0.20, within(0.05));
    // The ring spreads the orphaned keys over the others instead of piling them on one neighbour.
    assertThat(heirs).hasSize(4);

    status.switchOn(down);
    assertThat(owners(balancer)).isEqualTo(before);
  }

  @Test
  void removingATargetFromTheRingMovesOnlyItsShareOfKeys() {
    List<UpstreamTarget> targets = SampleTargets.equal(5);
    List<UpstreamTarget> before = owners(byHeader(targets));
    UpstreamTarget removed = targets.get(3);
    List<UpstreamTarget> remaining = new ArrayList<>(targets);
    remaining.remove(removed);

    List<UpstreamTarget> after = owners(byHeader(remaining));

    int moved = 0;
    for (int k = 0; k < KEYS; k++) {
      if (before.get(k) != after.get(k)) {
        moved++;
        assertThat(before.get(k)).as("key %d moved though its target stayed", k).isSameAs(removed);
      }
    }
    assertThat(moved / (double) KEYS).isCloseTo(0.20, within(0.05));
  }

  @Test
  void aMissingOrEmptyHeaderFallsBackToTheClientAddress() {
    Balancer balancer = byHeader(SampleTargets.equal(7));

    for (int k = 0; k < 200; k++) {
      String ip = "203.0.113." + k;
      UpstreamTarget byIp = balancer.pick(SampleRequest.withHeader("X-User", ip, "192.0.2.1"), List.of());
      assertThat(balancer.pick(SampleRequest.fromIp(ip), List.of())).isSameAs(byIp);
      assertThat(balancer.pick(SampleRequest.withHeader("X-User", "", ip), List.of())).isSameAs(byIp);
    }
  }

  @Test
  void hashesACookieOrTheClientAddressWhenConfiguredSo() {
    List<UpstreamTarget> targets = SampleTargets.equal(7);
    ConsistentHashBalancer byCookie = ring(targets, HashKey.cookie("session"));
    ConsistentHashBalancer byIp = ring(targets, HashKey.clientIp());

    assertThat(byCookie.keyOf(SampleRequest.withCookie("session", "abc", "192.0.2.9"))).isEqualTo("abc");
    assertThat(byCookie.keyOf(SampleRequest.withCookie("other", "abc", "192.0.2.9"))).isEqualTo("192.0.2.9");
    assertThat(byIp.keyOf(SampleRequest.withHeader("X-User", "abc", "192.0.2.9"))).isEqualTo("192.0.2.9");
    assertThat(byIp.keyOf(SampleRequest.fromIp(null))).isEmpty();

    for (int k = 0; k < 200; k++) {
      SampleRequest request = SampleRequest.withCookie("session", "s-" + k, "192.0.2." + k);
      UpstreamTarget first = byCookie.pick(request, List.of());
      assertThat(byCookie.pick(SampleRequest.withCookie("session", "s-" + k, "198.51.100.7"), List.of())).isSameAs(first);
    }
  }

  @Test
  void skipsTriedTargetsAlongTheRingAndReturnsNullWhenNoneIsLeft() {
    List<UpstreamTarget> targets = SampleTargets.equal(3);
    Balancer balancer = byHeader(targets);
    SampleRequest request = SampleRequest.withHeader("X-User", "user-1", "192.0.2.1");

    UpstreamTarget first = balancer.pick(request, List.of());
    UpstreamTarget second = balancer.pick(request, List.of(first));
    UpstreamTarget third = balancer.pick(request, List.of(first, second));

    assertThat(List.of(first, second, third)).doesNotHaveDuplicates();
    // The retry target is as sticky as the first choice.
    assertThat(balancer.pick(request, List.of(first))).isSameAs(second);
    assertThat(balancer.pick(request, targets)).isNull();

    targets.forEach(status::switchOff);
    assertThat(balancer.pick(request, List.of())).isNull();
  }

  private Balancer byHeader(List<UpstreamTarget> targets) {
    return Balancers.create(
        SampleTargets.upstream(BalancerKind.CONSISTENT_HASH, targets).withHashOn(HashKey.header("X-User")),
        targets,
        status);
  }

  private ConsistentHashBalancer ring(List<UpstreamTarget> targets, HashKey key) {
    return new ConsistentHashBalancer(targets.toArray(new UpstreamTarget[0]), status, key);
  }

  /** The target of each of {@value #KEYS} keys. */
  private static List<UpstreamTarget> owners(Balancer balancer) {
    List<UpstreamTarget> owners = new ArrayList<>(KEYS);
    for (int k = 0; k < KEYS; k++) {
      owners.add(balancer.pick(SampleRequest.withHeader("X-User", "user-" + k, "192.0.2.1"), List.of()));
    }
    return owners;
  }
}
