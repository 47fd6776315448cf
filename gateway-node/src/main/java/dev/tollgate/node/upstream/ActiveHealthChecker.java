package dev.tollgate.node.upstream;

import dev.tollgate.config.ActiveHealthCheck;
import dev.tollgate.config.Upstream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes every target of one upstream with {@code GET path} every {@code interval}, as its {@link
 * ActiveHealthCheck} says, and marks targets healthy or unhealthy in a {@link LocalUpstreamStatus}.
 * A target turns unhealthy after {@code unhealthyThreshold} bad probes in a row and healthy again
 * after {@code healthyThreshold} good ones; a probe is good when it answers within {@code timeout}
 * with an expected status. Each transition is logged with the upstream and the target.
 *
 * <p>Every target starts healthy. At most one probe per target is in flight: a probe still running
 * when the next round is due is not doubled. Response bodies are always discarded, so pooled
 * connections are freed. Probes use their own connection pool (no retries, a connect and idle
 * timeout of {@code timeout}), apart from the proxy's. Start one per upstream and config version;
 * {@link #close()} stops probing and withdraws this checker's marks.
 */
public final class ActiveHealthChecker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ActiveHealthChecker.class);

  private final String upstream;
  private final ActiveHealthCheck check;
  private final LocalUpstreamStatus status;
  private final ActorSystem<?> system;
  private final Http http;
  private final HttpsConnectionContext https;
  private final ConnectionPoolSettings pool;
  private final LoggingAdapter poolLog;
  private final List<Probe> probes;
  private final Cancellable schedule;
  private boolean closed;

  private ActiveHealthChecker(ActorSystem<?> system, Upstream upstream, List<UpstreamTarget> targets, LocalUpstreamStatus status) {
    this.upstream = upstream.name();
    this.check = upstream.activeHealthCheck().orElseThrow(
        () -> new IllegalArgumentException("upstream " + upstream.name() + " has no active health check"));
    this.status = status;
    this.system = system;
    this.http = Http.get(system);
    this.https = http.defaultClientHttpsContext();
    Duration base = check.interval().compareTo(Duration.ofMillis(100)) < 0 ? check.interval() : Duration.ofMillis(100);
    this.pool = ConnectionPoolSettings.create(system.classicSystem())
        .withMaxRetries(0)
        // A target that was down must be reconnected to within about an interval of coming back,
        // not after the default exponential back-off of up to minutes.
        .withBaseConnectionBackoff(base)
        .withMaxConnectionBackoff(check.interval().compareTo(base) > 0 ? check.interval() : base)
        .withConnectionSettings(ClientConnectionSettings.create(system.classicSystem())
            .withConnectingTimeout(check.timeout())
            // Closes the connection of a probe that hangs past its timeout.
            .withIdleTimeout(check.timeout()));
    this.poolLog = system.classicSystem().log();
    List<Probe> list = new ArrayList<>(targets.size());
    for (UpstreamTarget target : targets) {
      status.markHealthy(target);
      list.add(new Probe(target, HttpRequest.GET(target.target().url() + check.path())));
    }
    this.probes = List.copyOf(list);
    this.schedule = system.scheduler().scheduleWithFixedDelay(
        Duration.ZERO, check.interval(), this::probeAll, system.executionContext());
  }

  /**
   * Starts probing the targets of {@code upstream}; the first round is sent at once.
   *
   * @param targets the targets of this upstream, as its balancer holds them
   * @throws IllegalArgumentException when the upstream has no active health check
   */
  public static ActiveHealthChecker start(
      ActorSystem<?> system, Upstream upstream, List<UpstreamTarget> targets, LocalUpstreamStatus status) {
    Objects.requireNonNull(system, "system");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(targets, "targets");
    Objects.requireNonNull(status, "status");
    return new ActiveHealthChecker(system, upstream, targets, status);
  }

  /** Stops probing and marks this checker's targets healthy again (probes in flight are ignored). */
  @Override
  public void close() {
    schedule.cancel();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Probe probe : probes) {
        status.markHealthy(probe.target);
      }
    }
  }

  private void probeAll() {
    for (Probe probe : probes) {
      if (probe.running.compareAndSet(false, true)) {
        send(probe);
      }
    }
  }

  private void send(Probe probe) {
    CompletionStage<Integer> answer;
    try {
      answer = http.singleRequest(probe.request, https, pool, poolLog)
          .thenCompose(response -> discard(response));
    } catch (RuntimeException e) {
      record(probe, false, describe(e));
      return;
    }
    answer.toCompletableFuture()
        // The pool keeps reading a late answer (and discards it); the verdict does not wait.
        .orTimeout(check.timeout().toMillis(), TimeUnit.MILLISECONDS)
        // On the dispatcher: the timeout completes the future on the JDK's single delay thread.
        .whenCompleteAsync((code, failure) -> {
          if (failure != null) {
            record(probe, false, describe(failure));
          } else {
            record(probe, check.expects(code), "status " + code);
          }
        }, system.executionContext());
  }

  private CompletionStage<Integer> discard(HttpResponse response) {
    int code = response.status().intValue();
    return response.discardEntityBytes(system).completionStage().thenApply(done -> code);
  }

  private void record(Probe probe, boolean good, String outcome) {
    synchronized (this) {
      try {
        if (closed) {
          return;
        }
        if (good) {
          probe.badInRow = 0;
          probe.goodInRow++;
          if (!probe.healthy && probe.goodInRow >= check.healthyThreshold()) {
            probe.healthy = true;
            status.markHealthy(probe.target);
            log.info("upstream {}: target {} is healthy again after {} good probes ({})",
                upstream, probe.target.id(), probe.goodInRow, outcome);
          }
        } else {
          probe.goodInRow = 0;
          probe.badInRow++;
          if (probe.healthy && probe.badInRow >= check.unhealthyThreshold()) {
            probe.healthy = false;
            status.markUnhealthy(probe.target);
            log.warn("upstream {}: target {} is unhealthy after {} failed probes of GET {} (last: {})",
                upstream, probe.target.id(), probe.badInRow, check.path(), outcome);
          }
        }
      } finally {
        probe.running.set(false);
      }
    }
  }

  private String describe(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    if (cause instanceof TimeoutException) {
      return "no answer within " + check.timeout().toMillis() + " ms";
    }
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  /** One target's probe series. Fields are guarded by the checker's lock. */
  private static final class Probe {
    final UpstreamTarget target;
    final HttpRequest request;
    final AtomicBoolean running = new AtomicBoolean();
    int goodInRow;
    int badInRow;
    boolean healthy = true;

    Probe(UpstreamTarget target, HttpRequest request) {
      this.target = target;
      this.request = request;
    }
  }
}
