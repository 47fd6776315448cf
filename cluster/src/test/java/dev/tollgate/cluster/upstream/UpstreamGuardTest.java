package dev.tollgate.cluster.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.ClusterMembership;
import dev.tollgate.cluster.upstream.TargetStatus.Breaker;
import dev.tollgate.cluster.upstream.TargetStatus.Health;
import dev.tollgate.config.ActiveHealthCheck;
import dev.tollgate.config.CircuitBreaker;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.config.StatusRange;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The guards on a real cluster of one, sharded and publishing through Distributed Data as on every
 * node, every message through its serializer; their active probes against real HTTP servers on
 * loopback. Each test drives its own guards (an upstream name of its own) through sharding and reads
 * what they published from the board's replica.
 *
 * <p>Guards a test keeps are configured by the board's keep-alive, as the oldest node does; a guard
 * a test configures by hand hears nothing more and stops {@link #SETTINGS}{@code .guardIdle()} later.
 */
class UpstreamGuardTest {

  static final TargetBoard.Settings SETTINGS = new TargetBoard.Settings(Duration.ofMillis(100),
      Duration.ofMillis(200), Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(2));
  static final Duration WAIT = Duration.ofSeconds(10);
  static final Duration INTERVAL = Duration.ofMillis(50);
  static final String NODE_A = "pekko://tollgate@10.0.0.1:25520#1";
  static final String NODE_B = "pekko://tollgate@10.0.0.2:25520#2";
  static final String NODE_C = "pekko://tollgate@10.0.0.3:25520#3";

  static ActorTestKit kit;
  static ActorSystem<Void> system;
  static TargetBoard board;
  static final AtomicInteger upstreams = new AtomicInteger();

  final List<ProbedTarget> servers = new ArrayList<>();

  @BeforeAll
  static void startClusterOfOne() {
    NodeSettings.Cluster alone = NodeSettingsLoader.defaults().cluster().withPort(0);
    Config config = ClusterMembership.pekkoConfig(alone)
        .withFallback(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            # Every message goes through its serializer, as it would between nodes.
            pekko.actor.serialize-messages = on
            """))
        .withFallback(ConfigFactory.load());
    kit = ActorTestKit.create(ClusterMembership.SYSTEM_NAME, config);
    system = kit.system();
    ClusterMembership.join(system, alone);
    await("the node to be up").atMost(WAIT)
        .until(() -> Cluster.get(system).selfMember().status() == MemberStatus.up());
    board = TargetBoard.start(system, SETTINGS);
  }

  @AfterAll
  static void stopClusterOfOne() {
    board.close();
    kit.shutdownTestKit();
  }

  @AfterEach
  void stopKeepingGuardsAndServers() throws Exception {
    board.activate(0, List.of());
    for (ProbedTarget server : servers) {
      server.binding.terminate(Duration.ofSeconds(1)).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
  }

  // The probe.

  @Test
  void aTargetAnswering503TurnsUnhealthyAfterTheUnhealthyThresholdAndHealthyAgainAfterTheHealthyThreshold() {
    ProbedTarget flaky = server(200);
    flaky.gated = true;
    GuardSpec spec = probed(name("flaky"), flaky, check(Duration.ofSeconds(2), 2, 3, ActiveHealthCheck.DEFAULT_EXPECTED));
    keep(spec);
    flaky.answer(200);
    awaitStatus(spec.id(), "the first status", s -> s.health() == Health.HEALTHY);

    flaky.answer(503);
    flaky.answer(503);
    // The guard asks for the next probe only after it has judged the last one.
    CompletableFuture<HttpResponse> third = flaky.nextProbe();
    assertThat(published(spec.id()).orElseThrow().health()).as("after 2 failed probes of 3").isEqualTo(Health.HEALTHY);
    third.complete(ProbedTarget.response(503));
    TargetStatus unhealthy = awaitStatus(spec.id(), "unhealthy", s -> s.health() == Health.UNHEALTHY);
    assertThat(unhealthy.reason()).contains("3 failed probes of GET /health", "status 503");
    assertThat(unhealthy.breaker()).as("the probe judges health, not the breaker").isEqualTo(Breaker.CLOSED);
    assertThat(unhealthy.routable()).isFalse();

    flaky.answer(200);
    CompletableFuture<HttpResponse> second = flaky.nextProbe();
    assertThat(published(spec.id()).orElseThrow().health()).as("after 1 good probe of 2").isEqualTo(Health.UNHEALTHY);
    second.complete(ProbedTarget.response(200));
    TargetStatus healthy = awaitStatus(spec.id(), "healthy again", s -> s.health() == Health.HEALTHY);
    assertThat(healthy.reason()).contains("2 good probes of GET /health");
    assertThat(healthy.healthSinceMillis()).isGreaterThanOrEqualTo(unhealthy.healthSinceMillis());
  }

  @Test
  void aTargetThatRefusesConnectionsTurnsUnhealthy() {
    int closed = freePort();
    GuardSpec spec = new GuardSpec(name("refusing"), "127.0.0.1:" + closed, "http://127.0.0.1:" + closed, 0,
        CircuitBreaker.DEFAULT, Optional.of(check(Duration.ofSeconds(1), 1, 2, ActiveHealthCheck.DEFAULT_EXPECTED)));
    keep(spec);

    TargetStatus s = awaitStatus(spec.id(), "unhealthy", t -> t.health() == Health.UNHEALTHY);
    assertThat(s.reason()).contains("2 failed probes");
  }

  @Test
  void aTargetThatDoesNotAnswerWithinTheProbeTimeoutTurnsUnhealthy() {
    ProbedTarget silent = server(200);
    silent.hang = true;
    GuardSpec spec = probed(name("silent"), silent, check(Duration.ofMillis(300), 1, 2, ActiveHealthCheck.DEFAULT_EXPECTED));
    keep(spec);

    TargetStatus s = awaitStatus(spec.id(), "unhealthy", t -> t.health() == Health.UNHEALTHY);
    assertThat(s.reason()).contains("2 failed probes");
    assertThat(silent.probes.get()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void onlyTheExpectedStatusesCountAsGood() {
    ActiveHealthCheck teapotsOnly = check(Duration.ofSeconds(1), 1, 2, List.of(new StatusRange(418, 418)));
    ProbedTarget teapot = server(418);
    ProbedTarget redirecting = server(302);
    String upstream = name("teapots");
    GuardSpec teapotSpec = probed(upstream, teapot, teapotsOnly);
    GuardSpec redirectingSpec = probed(upstream, redirecting, teapotsOnly);
    keep(teapotSpec, redirectingSpec);

    TargetStatus s = awaitStatus(redirectingSpec.id(), "the 302 target unhealthy", t -> t.health() == Health.UNHEALTHY);
    assertThat(s.reason()).contains("status 302");
    await().atMost(WAIT).until(() -> teapot.probes.get() >= 4);
    // 3 or more probes of the teapot judged by now, answered 418 every time.
    assertThat(published(teapotSpec.id()).orElseThrow().health()).isEqualTo(Health.HEALTHY);
  }

  // The breaker.

  @Test
  void outcomeBatchesOfEveryNodeOpenTheBreakerAtTheMinimumCallsAndTheThresholdAndNotBelow() {
    GuardSpec spec = unprobed("trip", 0, breaker(true, 50, 12, Duration.ofSeconds(30), 1));
    keep(spec);
    long epoch = awaitStatus(spec.id(), "the first status", s -> s.breaker() == Breaker.CLOSED).epoch();

    outcomes(spec, NODE_A, 6, 6);
    outcomes(spec, NODE_B, 5, 0);
    assertThat(ask(spec, NODE_A)).as("11 calls, 6 failed (54 %), minimum 12").isEqualTo(refused(epoch));
    outcomes(spec, NODE_C, 2, 0);
    assertThat(ask(spec, NODE_A)).as("13 calls, 6 failed (46 %)").isEqualTo(refused(epoch));
    assertThat(published(spec.id()).orElseThrow().breaker()).isEqualTo(Breaker.CLOSED);
    // Node c's next call fails; its reporter drained between counting the call and counting the
    // failure, so the failure comes in a batch of its own.
    outcomes(spec, NODE_C, 1, 0);
    outcomes(spec, NODE_C, 0, 1);

    TargetStatus open = awaitStatus(spec.id(), "the breaker open", s -> s.breaker() == Breaker.OPEN);
    assertThat(open.reason()).contains("7 of 14 calls failed", "50 %");
    assertThat(open.epoch()).isEqualTo(epoch + 1);
    assertThat(open.routable()).isFalse();
    assertThat(open.openUntilMillis() - open.breakerSinceMillis()).isBetween(30_000L, 30_050L);
  }

  @Test
  void halfOpenAfterTheOpenDurationGrantsExactlyTheProbesAndClosesWhenAllOfTheCurrentEpochSucceed() {
    GuardSpec spec = unprobed("half-open", 0, breaker(true, 50, 1, Duration.ofSeconds(1), 3));
    keep(spec);
    awaitStatus(spec.id(), "the first status", s -> true);
    outcomes(spec, NODE_A, 1, 1);
    TargetStatus open = awaitStatus(spec.id(), "the breaker open", s -> s.breaker() == Breaker.OPEN);
    assertThat(ask(spec, NODE_A)).as("no permit while open").isEqualTo(refused(open.epoch()));

    TargetStatus half = awaitStatus(spec.id(), "half-open", s -> s.breaker() == Breaker.HALF_OPEN);
    // Wall-clock times both; a few ms for the two clocks' difference.
    assertThat(half.breakerSinceMillis()).as("not before the open duration").isGreaterThanOrEqualTo(open.openUntilMillis() - 5);
    assertThat(half.epoch()).isEqualTo(open.epoch() + 1);
    assertThat(half.probesOnly()).isTrue();
    long e = half.epoch();

    List<UpstreamGuard.ProbeAnswer> answers = new ArrayList<>();
    for (String node : List.of(NODE_A, NODE_B, NODE_C, NODE_A, NODE_B)) {
      answers.add(ask(spec, node));
    }
    assertThat(answers).containsExactly(granted(e), granted(e), granted(e), refused(e), refused(e));

    returnProbe(spec, NODE_B, e - 1);
    assertThat(ask(spec, NODE_C)).as("a permit of the open epoch given back").isEqualTo(refused(e));
    returnProbe(spec, NODE_B, e);
    assertThat(ask(spec, NODE_C)).as("node b's unused permit, granted again").isEqualTo(granted(e));
    assertThat(ask(spec, NODE_C)).isEqualTo(refused(e));

    probeOutcomes(spec, NODE_A, e - 1, 3, 0);
    probeOutcomes(spec, NODE_A, e - 1, 0, 1);
    outcomes(spec, NODE_B, 5, 5);
    assertThat(ask(spec, NODE_A)).as("stale probes and ordinary calls change nothing").isEqualTo(refused(e));
    probeOutcomes(spec, NODE_A, e, 1, 0);
    probeOutcomes(spec, NODE_C, e, 1, 0);
    assertThat(ask(spec, NODE_A)).as("2 of 3 probes succeeded").isEqualTo(refused(e));
    assertThat(published(spec.id()).orElseThrow().breaker()).isEqualTo(Breaker.HALF_OPEN);
    probeOutcomes(spec, NODE_C, e, 1, 0);

    TargetStatus closed = awaitStatus(spec.id(), "closed", s -> s.breaker() == Breaker.CLOSED);
    assertThat(closed.reason()).contains("3 half-open probes succeeded");
    assertThat(closed.epoch()).isEqualTo(e + 1);
    assertThat(closed.routable()).isTrue();
  }

  @Test
  void aFailedHalfOpenProbeOpensTheBreakerAgain() {
    GuardSpec spec = unprobed("reopen", 0, breaker(true, 50, 1, Duration.ofSeconds(1), 2));
    keep(spec);
    awaitStatus(spec.id(), "the first status", s -> true);
    outcomes(spec, NODE_A, 1, 1);
    long e = awaitStatus(spec.id(), "half-open", s -> s.breaker() == Breaker.HALF_OPEN).epoch();
    assertThat(ask(spec, NODE_A)).isEqualTo(granted(e));
    assertThat(ask(spec, NODE_B)).isEqualTo(granted(e));

    probeOutcomes(spec, NODE_A, e, 1, 0);
    probeOutcomes(spec, NODE_B, e, 0, 1);

    TargetStatus reopened = awaitStatus(spec.id(), "open again", s -> s.breaker() == Breaker.OPEN);
    assertThat(reopened.epoch()).isEqualTo(e + 1);
    assertThat(reopened.reason()).contains("a half-open probe failed");
    TargetStatus again = awaitStatus(spec.id(), "half-open again", s -> s.breaker() == Breaker.HALF_OPEN);
    assertThat(again.epoch()).isEqualTo(e + 2);
    assertThat(ask(spec, NODE_C)).as("a new episode's permits").isEqualTo(granted(e + 2));
  }

  @Test
  void aDisabledBreakerNeverOpensAndTurningABreakerOffClosesIt() {
    String upstream = name("off");
    GuardSpec off = new GuardSpec(upstream, "127.0.0.1:1", "http://127.0.0.1:1", 1,
        breaker(false, 50, 1, Duration.ofMillis(300), 1), Optional.empty());
    GuardSpec on = new GuardSpec(upstream, "127.0.0.1:2", "http://127.0.0.1:2", 1,
        breaker(true, 50, 1, Duration.ofSeconds(30), 1), Optional.empty());
    keep(off, on);
    long epoch = awaitStatus(off.id(), "the first status", s -> true).epoch();
    awaitStatus(on.id(), "the first status", s -> true);

    for (int i = 0; i < 3; i++) {
      outcomes(off, NODE_A, 100, 100);
    }
    outcomes(on, NODE_A, 100, 100);
    awaitStatus(on.id(), "the enabled breaker open", s -> s.breaker() == Breaker.OPEN);
    assertThat(ask(off, NODE_A)).as("300 calls failed").isEqualTo(refused(epoch));
    assertThat(published(off.id()).orElseThrow().breaker()).isEqualTo(Breaker.CLOSED);

    GuardSpec turnedOff = new GuardSpec(on.upstream(), on.target(), on.url(), 2, off.breaker(), Optional.empty());
    keep(off, turnedOff);
    TargetStatus closed = awaitStatus(on.id(), "closed", s -> s.breaker() == Breaker.CLOSED);
    assertThat(closed.reason()).contains("turned off in config version 2");
    outcomes(on, NODE_A, 100, 100);
    assertThat(ask(on, NODE_A)).isEqualTo(refused(closed.epoch()));
  }

  @Test
  void aForcedOpenHoldsWhateverTheOutcomesUntilReleased() {
    GuardSpec spec = unprobed("forced", 0, breaker(true, 50, 1, Duration.ofMillis(300), 1));
    keep(spec);
    awaitStatus(spec.id(), "the first status", s -> true);

    TargetStatus forced = force(spec, true);
    assertThat(forced.breaker()).isEqualTo(Breaker.FORCED_OPEN);
    assertThat(forced.reason()).contains("forced open by test operator");
    awaitStatus(spec.id(), "forced open", s -> s.breaker() == Breaker.FORCED_OPEN);
    outcomes(spec, NODE_A, 100, 0);
    probeOutcomes(spec, NODE_A, forced.epoch(), 1, 0);
    assertThat(ask(spec, NODE_A)).isEqualTo(refused(forced.epoch()));
    assertThat(force(spec, true)).as("forced again: no new episode").isEqualTo(forced);

    TargetStatus released = force(spec, false);
    assertThat(released.breaker()).isEqualTo(Breaker.CLOSED);
    assertThat(released.reason()).contains("released by test operator");
    assertThat(released.epoch()).isEqualTo(forced.epoch() + 1);
    awaitStatus(spec.id(), "released", s -> s.breaker() == Breaker.CLOSED);
    assertThat(force(spec, false)).as("released again: nothing to release").isEqualTo(released);
  }

  @Test
  void theProbeFindingTheTargetHealthyAgainClosesAnOpenBreakerButNotAForcedOne() {
    ProbedTarget target = server(200);
    GuardSpec spec = new GuardSpec(name("back"), target.authority(), target.url(), 0,
        breaker(true, 50, 1, Duration.ofSeconds(30), 1),
        Optional.of(check(Duration.ofSeconds(1), 1, 1, ActiveHealthCheck.DEFAULT_EXPECTED)));
    keep(spec);
    awaitStatus(spec.id(), "healthy", s -> s.health() == Health.HEALTHY);
    outcomes(spec, NODE_A, 1, 1);
    awaitStatus(spec.id(), "open", s -> s.breaker() == Breaker.OPEN);

    target.status.set(503);
    awaitStatus(spec.id(), "unhealthy and open", s -> s.health() == Health.UNHEALTHY && s.breaker() == Breaker.OPEN);
    target.status.set(200);
    TargetStatus back = awaitStatus(spec.id(), "healthy and closed", s -> s.health() == Health.HEALTHY
        && s.breaker() == Breaker.CLOSED);
    assertThat(back.reason()).contains("the active probe found the target healthy again");

    force(spec, true);
    target.status.set(503);
    awaitStatus(spec.id(), "unhealthy", s -> s.health() == Health.UNHEALTHY);
    target.status.set(200);
    awaitStatus(spec.id(), "healthy", s -> s.health() == Health.HEALTHY);
    // Closing would have been published right after the health, in the same step.
    assertThat(published(spec.id()).orElseThrow().breaker()).isEqualTo(Breaker.FORCED_OPEN);
  }

  // The guard's life.

  @Test
  void aRetireOfANewerConfigVersionRemovesTheStatusAndStopsTheGuard() {
    GuardSpec spec = unprobed("retired", 5, CircuitBreaker.DEFAULT);
    long configured = System.nanoTime();
    guard(spec.id()).tell(new UpstreamGuard.Configure(spec));
    awaitStatus(spec.id(), "the first status", s -> true);

    guard(spec.id()).tell(new UpstreamGuard.Retire(4));
    guard(spec.id()).tell(new UpstreamGuard.Retire(5));
    force(spec, true);
    // A retired guard publishes nothing more: this one still does.
    assertThat(published(spec.id()).orElseThrow().breaker()).isEqualTo(Breaker.FORCED_OPEN);

    guard(spec.id()).tell(new UpstreamGuard.Retire(6));
    await("the status removed").atMost(WAIT).pollInterval(Duration.ofMillis(10))
        .until(() -> !board.statuses().containsKey(spec.id()));
    assertThat(Duration.ofNanos(System.nanoTime() - configured)).as("too soon for the guard to have idled out")
        .isLessThan(SETTINGS.guardIdle());
    await("the guard stopped").atMost(WAIT).until(() -> !hostedGuards().contains(spec.id()));
  }

  @Test
  void aGuardNoOneConfiguresForTheIdleTimeRemovesItsStatusAndStops() {
    String upstream = name("idle");
    GuardSpec forgotten = new GuardSpec(upstream, "127.0.0.1:1", "http://127.0.0.1:1", 0, CircuitBreaker.DEFAULT,
        Optional.empty());
    GuardSpec kept = new GuardSpec(upstream, "127.0.0.1:2", "http://127.0.0.1:2", 0, CircuitBreaker.DEFAULT,
        Optional.empty());
    long configured = System.nanoTime();
    guard(forgotten.id()).tell(new UpstreamGuard.Configure(forgotten));
    keep(kept);
    awaitStatus(forgotten.id(), "the first status", s -> true);

    await("the forgotten guard's status removed").atMost(WAIT).pollInterval(Duration.ofMillis(10))
        .until(() -> !board.statuses().containsKey(forgotten.id()));
    assertThat(Duration.ofNanos(System.nanoTime() - configured)).isGreaterThanOrEqualTo(SETTINGS.guardIdle());
    await("the forgotten guard stopped").atMost(WAIT).until(() -> !hostedGuards().contains(forgotten.id()));
    assertThat(board.statuses()).as("the guard the board keeps configuring").containsKey(kept.id());
    assertThat(hostedGuards()).contains(kept.id());
  }

  /**
   * Sharding stops an entity with its stop message on passivation and on hand-off in a rebalance;
   * the next message starts it anew. A cluster of one cannot rebalance, so the test sends that
   * message itself.
   */
  @Test
  void aRestartedGuardAdoptsAForcedOpenFromTheReplica() {
    GuardSpec spec = unprobed("adopt-forced", 0, breaker(true, 50, 1, Duration.ofMillis(300), 1));
    keep(spec);
    awaitStatus(spec.id(), "the first status", s -> true);
    TargetStatus forced = force(spec, true);
    awaitStatus(spec.id(), "forced open", s -> s.breaker() == Breaker.FORCED_OPEN);

    guard(spec.id()).tell(new UpstreamGuard.Stop());

    // Started again by the board's next keep-alive, the new guard publishes what it adopted, in a new epoch.
    TargetStatus adopted = awaitStatus(spec.id(), "a new guard's status", s -> s.epoch() == forced.epoch() + 1);
    assertThat(adopted.breaker()).isEqualTo(Breaker.FORCED_OPEN);
    assertThat(adopted.breakerSinceMillis()).isEqualTo(forced.breakerSinceMillis());
    assertThat(adopted.reason()).isEqualTo(forced.reason());
    outcomes(spec, NODE_A, 100, 0);
    assertThat(ask(spec, NODE_A)).isEqualTo(refused(adopted.epoch()));
    assertThat(force(spec, false).breaker()).isEqualTo(Breaker.CLOSED);
  }

  /**
   * While half-open every node with traffic asks for a permit every {@link TargetBoard#ASK_AGAIN_AFTER},
   * so a guard stopped then is most likely started again by a node's ask, before any node configures it.
   */
  @Test
  void aGuardRestartedHalfOpenByAPermitAskTurnsHalfOpenAgainOnceConfigured() {
    GuardSpec spec = unprobed("adopt-half-open", 0, breaker(true, 50, 1, Duration.ofMillis(300), 1));
    guard(spec.id()).tell(new UpstreamGuard.Configure(spec));
    awaitStatus(spec.id(), "the first status", s -> true);
    outcomes(spec, NODE_A, 1, 1);
    TargetStatus half = awaitStatus(spec.id(), "half-open", s -> s.breaker() == Breaker.HALF_OPEN);

    guard(spec.id()).tell(new UpstreamGuard.Stop());
    await("the guard stopped").atMost(WAIT).until(() -> !hostedGuards().contains(spec.id()));
    assertThat(ask(spec, NODE_B)).as("the new guard, not configured yet").isEqualTo(refused(half.epoch() + 1));
    TargetStatus adopted = awaitStatus(spec.id(), "the adopted status", s -> s.epoch() == half.epoch() + 1);
    // The half-open episode died with the old guard: the new one starts another.
    assertThat(adopted.breaker()).isEqualTo(Breaker.OPEN);
    // Time for the adopted breaker's open time (already over) to elapse before the spec comes.
    sleep(300);
    guard(spec.id()).tell(new UpstreamGuard.Configure(spec));

    TargetStatus again = awaitStatus(spec.id(), "half-open again", s -> s.breaker() == Breaker.HALF_OPEN);
    assertThat(again.epoch()).isEqualTo(half.epoch() + 2);
    assertThat(ask(spec, NODE_B)).isEqualTo(granted(again.epoch()));
  }

  // Helpers.

  static String name(String what) {
    return what + "-" + upstreams.incrementAndGet();
  }

  static CircuitBreaker breaker(boolean enabled, int percent, int minimumCalls, Duration open, int probes) {
    return new CircuitBreaker(enabled, percent, minimumCalls, Duration.ofSeconds(10), open, probes);
  }

  static ActiveHealthCheck check(Duration timeout, int healthy, int unhealthy, List<StatusRange> expected) {
    return new ActiveHealthCheck("/health", INTERVAL, timeout, healthy, unhealthy, expected);
  }

  static GuardSpec unprobed(String what, long version, CircuitBreaker breaker) {
    return new GuardSpec(name(what), "127.0.0.1:1", "http://127.0.0.1:1", version, breaker, Optional.empty());
  }

  static GuardSpec probed(String upstream, ProbedTarget target, ActiveHealthCheck check) {
    return new GuardSpec(upstream, target.authority(), target.url(), 0, CircuitBreaker.DEFAULT, Optional.of(check));
  }

  /** Makes {@code specs} the board's targets: configured now, and again every keep-alive. */
  static void keep(GuardSpec... specs) {
    board.activate(0, List.of(specs));
  }

  static EntityRef<UpstreamGuard.Command> guard(String id) {
    return ClusterSharding.get(system).entityRefFor(UpstreamGuard.TYPE_KEY, id);
  }

  static void outcomes(GuardSpec spec, String node, long calls, long failures) {
    guard(spec.id()).tell(new UpstreamGuard.Outcomes(node, calls, failures, calls * 1_000, 0, 0, 0));
  }

  static void probeOutcomes(GuardSpec spec, String node, long epoch, long successes, long failures) {
    guard(spec.id()).tell(new UpstreamGuard.Outcomes(node, 0, 0, 0, epoch, successes, failures));
  }

  static void returnProbe(GuardSpec spec, String node, long epoch) {
    guard(spec.id()).tell(new UpstreamGuard.ReturnProbe(node, epoch, 1));
  }

  /** Asks for a permit; also tells the guard's epoch, and that it has handled everything sent before. */
  static UpstreamGuard.ProbeAnswer ask(GuardSpec spec, String node) {
    return guard(spec.id()).<UpstreamGuard.ProbeAnswer>ask(replyTo -> new UpstreamGuard.AskProbe(node, replyTo), WAIT)
        .toCompletableFuture().join();
  }

  static TargetStatus force(GuardSpec spec, boolean open) {
    return board.force(spec.id(), open, "test operator").toCompletableFuture().join();
  }

  static UpstreamGuard.ProbeAnswer granted(long epoch) {
    return new UpstreamGuard.ProbeAnswer(epoch, true);
  }

  static UpstreamGuard.ProbeAnswer refused(long epoch) {
    return new UpstreamGuard.ProbeAnswer(epoch, false);
  }

  /** Waits for the board's replica to hold a status of {@code id} that {@code test} accepts. */
  static TargetStatus awaitStatus(String id, String what, Predicate<TargetStatus> test) {
    return await(what + " of " + id).atMost(WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10))
        .until(() -> board.statuses().get(id), s -> s != null && test.test(s));
  }

  /**
   * The local replica's status of {@code id} now: read through the replicator, so it holds every
   * update a guard sent before this call, not only those the board has been notified of.
   */
  static Optional<TargetStatus> published(String id) {
    ActorRef<Replicator.Command> replicator = DistributedData.get(system).replicator();
    Replicator.GetResponse<LWWMap<String, TargetStatus>> response =
        AskPattern.<Replicator.Command, Replicator.GetResponse<LWWMap<String, TargetStatus>>>ask(replicator,
            replyTo -> new Replicator.Get<>(TargetStatus.KEY, Replicator.readLocal(), replyTo), WAIT,
            system.scheduler()).toCompletableFuture().join();
    if (response instanceof Replicator.GetSuccess<LWWMap<String, TargetStatus>> success) {
      return Optional.ofNullable(success.dataValue().getEntries().get(id));
    }
    return Optional.empty();
  }

  /** The guards this node's shard region hosts now, by id. */
  static Set<String> hostedGuards() {
    ShardRegion.CurrentShardRegionState state = AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
        ClusterSharding.get(system).shardState(), replyTo -> new GetShardRegionState(UpstreamGuard.TYPE_KEY, replyTo),
        WAIT, system.scheduler()).toCompletableFuture().join();
    return state.getShards().stream().flatMap(s -> s.getEntityIds().stream()).collect(Collectors.toSet());
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  ProbedTarget server(int status) {
    ProbedTarget server = new ProbedTarget(status);
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> {
      request.discardEntityBytes(system);
      if (request.getUri().path().equals("/health")) {
        server.probes.incrementAndGet();
      }
      if (server.hang) {
        return new CompletableFuture<>();
      }
      if (server.gated) {
        CompletableFuture<HttpResponse> held = new CompletableFuture<>();
        server.held.add(held);
        return held;
      }
      return CompletableFuture.completedFuture(ProbedTarget.response(server.status.get()));
    };
    server.binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(handler).toCompletableFuture().join();
    servers.add(server);
    return server;
  }

  /**
   * A real HTTP server on a loopback port, the target a guard probes: it answers with a switchable
   * status, never ({@code hang}), or when the test says ({@code gated}: each probe waits in {@code held}).
   */
  static final class ProbedTarget {
    final AtomicInteger status;
    final AtomicInteger probes = new AtomicInteger();
    final LinkedBlockingQueue<CompletableFuture<HttpResponse>> held = new LinkedBlockingQueue<>();
    volatile boolean hang;
    volatile boolean gated;
    ServerBinding binding;

    ProbedTarget(int status) {
      this.status = new AtomicInteger(status);
    }

    static HttpResponse response(int status) {
      return HttpResponse.create().withStatus(status).withEntity("status " + status);
    }

    String authority() {
      return "127.0.0.1:" + binding.localAddress().getPort();
    }

    String url() {
      return "http://" + authority();
    }

    /** The next probe, held until the test answers it. */
    CompletableFuture<HttpResponse> nextProbe() {
      try {
        CompletableFuture<HttpResponse> probe = held.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(probe).as("a probe within " + WAIT.toMillis() + " ms").isNotNull();
        return probe;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** Answers the next probe with {@code code}. */
    void answer(int code) {
      nextProbe().complete(response(code));
    }
  }
}
