package dev.tollgate.node.upstream;

import static dev.tollgate.node.upstream.SampleTargets.balancer;
import static dev.tollgate.node.upstream.SampleTargets.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tollgate.config.BalancerKind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TurnBalancerTest {

  private static final int PICKS = 10_000;

  private final SwitchedStatus status = new SwitchedStatus();

  @Test
  void roundRobinGivesEachTargetAnEqualTurnAndIgnoresWeights() {
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 3, 6);
    Map<UpstreamTarget, Integer> counts = count(balancer(BalancerKind.ROUND_ROBIN, targets, status), PICKS);

    for (UpstreamTarget target : targets) {
      assertThat(counts.get(target)).isBetween(PICKS / 3, PICKS / 3 + 1);
    }
  }

  @Test
  void roundRobinTakesTargetsInListOrder() {
    List<UpstreamTarget> targets = SampleTargets.equal(3);
    Balancer balancer = balancer(BalancerKind.ROUND_ROBIN, targets, status);

    for (int i = 0; i < 9; i++) {
      assertThat(balancer.pick(SampleRequest.ANY, List.of())).isSameAs(targets.get(i % 3));
    }
  }

  @Test
  void roundRobinSharesEquallyAmongTheTargetsStillAvailable() {
    List<UpstreamTarget> targets = SampleTargets.equal(3);
    status.switchOff(targets.get(1));

    Map<UpstreamTarget, Integer> counts = count(balancer(BalancerKind.ROUND_ROBIN, targets, status), PICKS);

    assertThat(counts).doesNotContainKey(targets.get(1));
    assertThat(counts.get(targets.get(0))).isEqualTo(PICKS / 2);
    assertThat(counts.get(targets.get(2))).isEqualTo(PICKS / 2);
  }

  @Test
  void weightedGivesEachTargetItsWeightsShare() {
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 3, 6);
    Map<UpstreamTarget, Integer> counts = count(balancer(BalancerKind.WEIGHTED, targets, status), PICKS);

    assertThat(share(counts, targets.get(0))).isCloseTo(0.10, within(0.02));
    assertThat(share(counts, targets.get(1))).isCloseTo(0.30, within(0.02));
    assertThat(share(counts, targets.get(2))).isCloseTo(0.60, within(0.02));
  }

  @Test
  void weightedInterleavesTurnsInsteadOfRunningOneTargetAtATime() {
    List<UpstreamTarget> targets = SampleTargets.weighted(5, 1, 1);
    UpstreamTarget a = targets.get(0);
    UpstreamTarget b = targets.get(1);
    UpstreamTarget c = targets.get(2);

    // The sequence nginx's smooth weighted round-robin is known for.
    assertThat(TurnBalancer.smoothWeightedTurns(targets.toArray(new UpstreamTarget[0])))
        .containsExactly(a, a, b, a, c, a, a);

    Balancer balancer = balancer(BalancerKind.WEIGHTED, SampleTargets.weighted(1, 3, 6), status);
    assertThat(longestRun(balancer, 1_000)).isLessThanOrEqualTo(2);
  }

  @Test
  void weightedReducesWeightsByTheirCommonDivisor() {
    TurnBalancer balancer = TurnBalancer.weighted(
        SampleTargets.weighted(100, 300, 600).toArray(new UpstreamTarget[0]), status);

    assertThat(balancer.turns()).hasSize(10);
  }

  @Test
  void weightedKeepsTheRatioOfTheOthersWhenTheHeaviestTargetIsDown() {
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 3, 6);
    status.switchOff(targets.get(2));

    Map<UpstreamTarget, Integer> counts = count(balancer(BalancerKind.WEIGHTED, targets, status), PICKS);

    assertThat(counts).doesNotContainKey(targets.get(2));
    assertThat(share(counts, targets.get(0))).isCloseTo(0.25, within(0.02));
    assertThat(share(counts, targets.get(1))).isCloseTo(0.75, within(0.02));
  }

  @Test
  void weightedStillFindsALightTargetWhenAVeryHeavyOneIsDown() {
    List<UpstreamTarget> targets = SampleTargets.weighted(1000, 1, 1);
    status.switchOff(targets.get(0));
    Balancer balancer = balancer(BalancerKind.WEIGHTED, targets, status);

    Map<UpstreamTarget, Integer> counts = count(balancer, 1_000);

    assertThat(counts).containsOnlyKeys(targets.get(1), targets.get(2));
  }

  @Test
  void skipsTriedTargetsAndReturnsNullWhenNoneIsLeft() {
    for (BalancerKind kind : List.of(BalancerKind.ROUND_ROBIN, BalancerKind.WEIGHTED)) {
      List<UpstreamTarget> targets = SampleTargets.weighted(1, 3, 6);
      Balancer balancer = balancer(kind, targets, status);

      for (int i = 0; i < 100; i++) {
        assertThat(balancer.pick(SampleRequest.ANY, List.of(targets.get(2), targets.get(1))))
            .as(kind.configName())
            .isSameAs(targets.get(0));
      }
      assertThat(balancer.pick(SampleRequest.ANY, targets)).as(kind.configName()).isNull();
    }
  }

  @Test
  void returnsNullWhenEveryTargetIsUnavailable() {
    List<UpstreamTarget> targets = SampleTargets.weighted(2, 5);
    targets.forEach(status::switchOff);

    assertThat(balancer(BalancerKind.ROUND_ROBIN, targets, status).pick(SampleRequest.ANY, List.of())).isNull();
    assertThat(balancer(BalancerKind.WEIGHTED, targets, status).pick(SampleRequest.ANY, List.of())).isNull();

    status.switchOn(targets.get(1));
    assertThat(balancer(BalancerKind.WEIGHTED, targets, status).pick(SampleRequest.ANY, List.of())).isSameAs(targets.get(1));
  }

  private static double share(Map<UpstreamTarget, Integer> counts, UpstreamTarget target) {
    int total = counts.values().stream().mapToInt(Integer::intValue).sum();
    return counts.getOrDefault(target, 0) / (double) total;
  }

  private static int longestRun(Balancer balancer, int picks) {
    UpstreamTarget previous = null;
    int run = 0;
    int longest = 0;
    for (int i = 0; i < picks; i++) {
      UpstreamTarget target = balancer.pick(SampleRequest.ANY, List.of());
      run = target == previous ? run + 1 : 1;
      longest = Math.max(longest, run);
      previous = target;
    }
    return longest;
  }
}
