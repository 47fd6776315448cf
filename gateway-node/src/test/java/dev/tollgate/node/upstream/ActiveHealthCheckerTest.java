package dev.tollgate.node.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tollgate.config.ActiveHealthCheck;
import dev.tollgate.config.BalancerKind;
import dev.tollgate.config.StatusRange;
import dev.tollgate.config.Target;
import dev.tollgate.config.Upstream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ActiveHealthCheckerTest {

  private static final Duration INTERVAL = Duration.ofMillis(100);
  private static final Duration PATIENCE = Duration.ofSeconds(10);

  private static ActorTestKit testKit;
  private static ActorSystem<?> system;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final LocalUpstreamStatus status = new LocalUpstreamStatus();

  @BeforeAll
  static void startSystem() {
    testKit = ActorTestKit.create();
    system = testKit.system();
  }

  @AfterAll
  static void stopSystem() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void closeCheckersAndServers() throws Exception {
    // Checkers before the servers they probe: the last ones started close first.
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void aTargetAnswering503TurnsUnhealthyAfterTheThresholdAndHealthyWhenItRecovers() {
    ProbedServer steady = server(200);
    ProbedServer flaky = server(200);
    List<UpstreamTarget> targets = targets("api", steady, flaky);
    UpstreamTarget steadyTarget = targets.get(0);
    UpstreamTarget flakyTarget = targets.get(1);
    Upstream config = config(steady, flaky, 2, 3);
    Balancer balancer = Balancers.create(config, targets, status);

    start(config, targets);
    assertThat(status.isHealthy(steadyTarget)).as("the first state is healthy").isTrue();
    assertThat(status.isHealthy(flakyTarget)).isTrue();
    await().atMost(PATIENCE).until(() -> steady.probes.get() >= 3 && flaky.probes.get() >= 3);
    assertThat(status.isAvailable(flakyTarget)).isTrue();

    flaky.status.set(503);
    int probesBeforeFailing = flaky.probes.get();
    await().atMost(PATIENCE).until(() -> !status.isHealthy(flakyTarget));
    assertThat(flaky.probes.get() - probesBeforeFailing).as("probes until marked unhealthy").isGreaterThanOrEqualTo(3);
    assertThat(status.isHealthy(steadyTarget)).isTrue();
    for (int i = 0; i < 20; i++) {
      assertThat(balancer.pick(SampleRequest.ANY, List.of())).isSameAs(steadyTarget);
    }

    flaky.status.set(200);
    int probesBeforeRecovering = flaky.probes.get();
    await().atMost(PATIENCE).until(() -> status.isHealthy(flakyTarget));
    assertThat(flaky.probes.get() - probesBeforeRecovering).as("probes until healthy again").isGreaterThanOrEqualTo(2);
    assertThat(status.isAvailable(flakyTarget)).isTrue();
  }

  @Test
  void aTargetThatRefusesConnectionsTurnsUnhealthy() {
    ProbedServer alive = server(200);
    ProbedServer gone = server(200);
    gone.binding.unbind().toCompletableFuture().join();
    List<UpstreamTarget> targets = targets("api", alive, gone);

    start(config(alive, gone, 1, 2), targets);

    await().atMost(PATIENCE).until(() -> !status.isHealthy(targets.get(1)));
    assertThat(status.isHealthy(targets.get(0))).isTrue();
  }

  @Test
  void aTargetThatDoesNotAnswerWithinTheTimeoutTurnsUnhealthy() {
    ProbedServer alive = server(200);
    ProbedServer silent = server(200);
    silent.hang = true;
    List<UpstreamTarget> targets = targets("api", alive, silent);
    Upstream config = config(alive, silent, 1, 2).withActiveHealthCheck(
        new ActiveHealthCheck("/health", INTERVAL, Duration.ofMillis(200), 1, 2, ActiveHealthCheck.DEFAULT_EXPECTED));

    start(config, targets);

    await().atMost(PATIENCE).until(() -> !status.isHealthy(targets.get(1)));
    assertThat(status.isHealthy(targets.get(0))).isTrue();
  }

  @Test
  void onlyTheExpectedStatusesCountAsGood() {
    ProbedServer teapot = server(418);
    ProbedServer redirecting = server(302);
    List<UpstreamTarget> targets = targets("api", teapot, redirecting);
    Upstream config = config(teapot, redirecting, 1, 2).withActiveHealthCheck(
        new ActiveHealthCheck("/health", INTERVAL, Duration.ofSeconds(1), 1, 2, List.of(new StatusRange(418, 418))));

    start(config, targets);

    await().atMost(PATIENCE).until(() -> !status.isHealthy(targets.get(1)));
    assertThat(status.isHealthy(targets.get(0))).isTrue();
  }

  @Test
  void closeStopsProbingAndWithdrawsTheMarks() {
    ProbedServer server = server(503);
    List<UpstreamTarget> targets = targets("api", server);
    Upstream config = Upstream.of("api", List.of(server.target()), BalancerKind.ROUND_ROBIN)
        .withActiveHealthCheck(new ActiveHealthCheck("/health", INTERVAL, Duration.ofSeconds(1), 1, 1, ActiveHealthCheck.DEFAULT_EXPECTED));
    ActiveHealthChecker checker = ActiveHealthChecker.start(system, config, targets, status);
    await().atMost(PATIENCE).until(() -> !status.isHealthy(targets.get(0)));

    checker.close();

    assertThat(status.isHealthy(targets.get(0))).isTrue();
    int probesAtClose = server.probes.get();
    // At most the probe already on its way when close() ran still arrives.
    await().during(Duration.ofMillis(5 * INTERVAL.toMillis())).atMost(PATIENCE)
        .until(() -> server.probes.get() <= probesAtClose + 1);
    assertThat(status.isHealthy(targets.get(0))).isTrue();
  }

  @Test
  void refusesAnUpstreamWithoutActiveHealthCheck() {
    Upstream config = Upstream.of("api", List.of(Target.http("127.0.0.1", 9)), BalancerKind.ROUND_ROBIN);

    assertThatThrownBy(() -> ActiveHealthChecker.start(system, config, List.of(), status))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("api");
  }

  private void start(Upstream config, List<UpstreamTarget> targets) {
    toClose.add(ActiveHealthChecker.start(system, config, targets, status));
  }

  private static Upstream config(ProbedServer a, ProbedServer b, int healthyThreshold, int unhealthyThreshold) {
    return Upstream.of("api", List.of(a.target(), b.target()), BalancerKind.ROUND_ROBIN)
        .withActiveHealthCheck(new ActiveHealthCheck(
            "/health", INTERVAL, Duration.ofSeconds(1), healthyThreshold, unhealthyThreshold, ActiveHealthCheck.DEFAULT_EXPECTED));
  }

  private static List<UpstreamTarget> targets(String upstream, ProbedServer... servers) {
    List<UpstreamTarget> targets = new ArrayList<>();
    for (ProbedServer server : servers) {
      targets.add(new UpstreamTarget(upstream, server.target(), dev.tollgate.config.PassiveHealthCheck.OFF));
    }
    return targets;
  }

  /** A real Pekko HTTP server on an ephemeral loopback port, answering probes with a switchable status. */
  private ProbedServer server(int initialStatus) {
    ProbedServer server = new ProbedServer(initialStatus);
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> {
      request.discardEntityBytes(system);
      if (request.getUri().path().equals("/health")) {
        server.probes.incrementAndGet();
      }
      if (server.hang) {
        return new CompletableFuture<>();
      }
      return CompletableFuture.completedFuture(HttpResponse.create().withStatus(server.status.get()).withEntity("status"));
    };
    server.binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(handler).toCompletableFuture().join();
    toClose.add(() -> server.binding.terminate(Duration.ofSeconds(1)).toCompletableFuture().get(5, TimeUnit.SECONDS));
    return server;
  }

  private static final class ProbedServer {
    final AtomicInteger status;
    final AtomicInteger probes = new AtomicInteger();
    volatile boolean hang;
    ServerBinding binding;

    ProbedServer(int status) {
      this.status = new AtomicInteger(status);
    }

    Target target() {
      return Target.http("127.0.0.1", binding.localAddress().getPort());
    }
  }
}
