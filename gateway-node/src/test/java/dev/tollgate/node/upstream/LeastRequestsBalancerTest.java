package dev.tollgate.node.upstream;

import dev.tollgate.cluster.upstream.TargetHealth;
import static dev.tollgate.node.upstream.SampleTargets.balancer;
import static dev.tollgate.node.upstream.SampleTargets.count;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.BalancerKind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastRequestsBalancerTest {

  private final SwitchedStatus status = new SwitchedStatus();
  private final List<UpstreamTarget> targets = SampleTargets.equal(3);
  private final Balancer balancer = balancer(BalancerKind.LEAST_REQUESTS, targets, status);

  @Test
  void prefersTheIdleTarget() {
    inFlight(targets.get(0), 3);
    inFlight(targets.get(2), 2);

    for (int i = 0; i < 100; i++) {
      assertThat(balancer.pick(SampleRequest.ANY, List.of())).isSameAs(targets.get(1));
    }
  }

  @Test
  void prefersTheLeastLoadedWhenNoneIsIdle() {
    inFlight(targets.get(0), 3);
    inFlight(targets.get(1), 1);
    inFlight(targets.get(2), 2);

    assertThat(count(balancer, 100)).containsOnlyKeys(targets.get(1));
  }

  @Test
  void breaksTiesInTurnRatherThanAlwaysTakingTheFirst() {
    Map<UpstreamTarget, Integer> counts = count(balancer, 300);

    assertThat(counts).containsOnlyKeys(targets);
    counts.values().forEach(c -> assertThat(c).isEqualTo(100));
  }

  @Test
  void followsLoadAsRequestsStartAndFinish() {
    UpstreamTarget first = balancer.pick(SampleRequest.ANY, List.of());
    first.requestStarted();
    UpstreamTarget second = balancer.pick(SampleRequest.ANY, List.of());
    second.requestStarted();
    UpstreamTarget third = balancer.pick(SampleRequest.ANY, List.of());

    assertThat(List.of(first, second, third)).doesNotHaveDuplicates();

    third.requestStarted();
    first.requestFinished(TargetHealth.ORDINARY, false, 0);
    assertThat(balancer.pick(SampleRequest.ANY, List.of())).isSameAs(first);
  }

  @Test
  void passesOverAnUnavailableTargetEvenWhenItIsIdle() {
    inFlight(targets.get(0), 3);
    inFlight(targets.get(2), 2);
    status.switchOff(targets.get(1));

    assertThat(count(balancer, 50)).containsOnlyKeys(targets.get(2));
  }

  @Test
  void skipsTriedTargetsAndReturnsNullWhenNoneIsLeft() {
    inFlight(targets.get(0), 5);

    assertThat(balancer.pick(SampleRequest.ANY, List.of(targets.get(1), targets.get(2)))).isSameAs(targets.get(0));
    assertThat(balancer.pick(SampleRequest.ANY, targets)).isNull();

    status.switchOff(targets.get(0));
    assertThat(balancer.pick(SampleRequest.ANY, List.of(targets.get(1), targets.get(2)))).isNull();
  }

  private static void inFlight(UpstreamTarget target, int requests) {
    for (int i = 0; i < requests; i++) {
      target.requestStarted();
    }
  }
}
