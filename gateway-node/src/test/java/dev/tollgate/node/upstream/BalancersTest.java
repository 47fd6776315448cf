package dev.tollgate.node.upstream;

import dev.tollgate.cluster.upstream.TargetHealth;
import static dev.tollgate.node.upstream.SampleTargets.balancer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.config.BalancerKind;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BalancersTest {

  private final SwitchedStatus status = new SwitchedStatus();

  @Test
  void buildsTheBalancerTheConfigNames() {
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 3);

    assertThat(balancer(BalancerKind.ROUND_ROBIN, targets, status)).isInstanceOf(TurnBalancer.class);
    assertThat(((TurnBalancer) balancer(BalancerKind.ROUND_ROBIN, targets, status)).turns()).hasSize(2);
    assertThat(((TurnBalancer) balancer(BalancerKind.WEIGHTED, targets, status)).turns()).hasSize(4);
    assertThat(balancer(BalancerKind.LEAST_REQUESTS, targets, status)).isInstanceOf(LeastRequestsBalancer.class);
    assertThat(balancer(BalancerKind.CONSISTENT_HASH, targets, status)).isInstanceOf(ConsistentHashBalancer.class);
  }

  @Test
  void rejectsAnEmptyOrRepeatedTargetList() {
    List<UpstreamTarget> targets = SampleTargets.equal(2);
    var config = SampleTargets.upstream(BalancerKind.ROUND_ROBIN, targets);

    assertThatThrownBy(() -> Balancers.create(config, List.of(), status))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no targets");
    assertThatThrownBy(() -> Balancers.create(config, List.of(targets.get(0), targets.get(0)), status))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("api/10.0.0.1:8080 twice");
  }

  @ParameterizedTest
  @EnumSource(BalancerKind.class)
  void manyThreadsPickingAtOnceEachGetATargetAndTheCountsAddUp(BalancerKind kind) throws Exception {
    int threads = 8;
    int picksPerThread = 20_000;
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 2, 3, 4);
    Balancer balancer = balancer(kind, targets, status);
    Map<UpstreamTarget, AtomicLong> counts = new ConcurrentHashMap<>();
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        runs.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < picksPerThread; i++) {
            SampleRequest request = SampleRequest.fromIp("192.0.2." + (i % 250));
            UpstreamTarget target = balancer.pick(request, List.of());
            assertThat(target).as("thread %d pick %d", thread, i).isNotNull();
            target.requestStarted();
            counts.computeIfAbsent(target, x -> new AtomicLong()).incrementAndGet();
            target.requestFinished(TargetHealth.ORDINARY, false, 0);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> run : runs) {
        run.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(counts.values().stream().mapToLong(AtomicLong::get).sum()).isEqualTo((long) threads * picksPerThread);
    assertThat(counts.keySet()).isSubsetOf(targets);
    for (UpstreamTarget target : targets) {
      assertThat(target.inFlight()).isZero();
    }
    if (kind == BalancerKind.ROUND_ROBIN) {
      // Every pick takes exactly one turn, whatever the interleaving.
      counts.values().forEach(c -> assertThat(c.get()).isEqualTo((long) threads * picksPerThread / targets.size()));
    }
    if (kind == BalancerKind.WEIGHTED) {
      long total = (long) threads * picksPerThread;
      for (UpstreamTarget target : targets) {
        assertThat(counts.get(target).get()).isEqualTo(total * target.target().weight() / 10);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(BalancerKind.class)
  void pickingWithNothingTriedAllocatesNothing(BalancerKind kind) {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    List<UpstreamTarget> targets = SampleTargets.weighted(1, 2, 3, 4, 5);
    status.switchOff(targets.get(4));
    Balancer balancer = balancer(kind, targets, status);
    SampleRequest request = SampleRequest.fromIp("192.0.2.77");
    List<UpstreamTarget> nothing = List.of();
    for (int i = 0; i < 20_000; i++) {
      balancer.pick(request, nothing);
    }

    long thread = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 100_000; i++) {
      balancer.pick(request, nothing);
    }
    long allocated = threads.getThreadAllocatedBytes(thread) - before;

    // A single object per pick would show as megabytes; the allowance covers the measurement itself.
    assertThat(allocated).isLessThan(16 * 1024);
  }
}
