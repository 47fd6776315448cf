package dev.tollgate.cluster.upstream;

import dev.tollgate.cluster.ShardRoute;
import dev.tollgate.cluster.upstream.TargetStatus.Breaker;
import dev.tollgate.cluster.upstream.TargetStatus.Health;
import dev.tollgate.config.ActiveHealthCheck;
import dev.tollgate.config.CircuitBreaker;
import dev.tollgate.persistence.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place in the cluster that decides about one upstream target: a sharded entity per target
 * ({@link GuardSpec#id()}). It alone runs the target's active health probe, so the cluster probes a
 * target once per interval however many nodes it has; it folds the outcome batches of every node
 * into one sliding window and runs the breaker (CLOSED, OPEN, HALF_OPEN, FORCED_OPEN); and it
 * publishes every change as a {@link TargetStatus} into a Distributed Data map that every node's
 * balancers read locally.
 *
 * <p>Half-open: the guard hands out probe permits one at a time to the nodes that ask, at most
 * {@code half_open_probes} per epoch, so the cluster as a whole sends exactly that many probe
 * requests. All succeeding closes the breaker; one failing opens it again. A permit a node did not
 * use comes back and may be granted again. An episode whose granted probes do not all answer within
 * {@link #halfOpenDeadline} opens the breaker again (a node may have died holding a permit).
 *
 * <p>When the active probe finds an unhealthy target healthy again, an open breaker closes: the
 * probe brings the target back. A forced open ignores both outcomes and probes until released.
 *
 * <p>The guard keeps no durable state. Started anew (after a rebalance or a crash), it adopts the
 * status its node's replica last saw, so an open or forced-open breaker stays so; after a full
 * cluster restart every breaker starts closed. A guard that hears no {@link Configure} for {@link
 * TargetBoard.Settings#guardIdle()} (its target left the config) removes its status and stops.
 */
public final class UpstreamGuard extends AbstractBehavior<UpstreamGuard.Command> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "UpstreamGuard");

  private static final Logger log = LoggerFactory.getLogger(UpstreamGuard.class);
  private static final Duration PUBLISH_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration MIN_HALF_OPEN_DEADLINE = Duration.ofSeconds(10);
  private static final int STASH = 1000;
  /** Timer keys: a timer started again under its key replaces the one before. */
  private static final String OPEN_TIMER = "open";
  private static final String HALF_OPEN_TIMER = "half-open";
  private static final String PROBE_TIMER = "probe";

  /** What a guard is told or asked. */
  public sealed interface Command extends CborSerializable
      permits Configure, Outcomes, AskProbe, ReturnProbe, ForceOpen, Retire, Stop, Internal {}

  /** The target's spec in a config version; the guard keeps the highest version's. */
  public record Configure(GuardSpec spec) implements Command {
    public Configure {
      Objects.requireNonNull(spec, "spec");
    }
  }

  /**
   * One node's outcomes for this target since its last batch.
   *
   * @param calls attempts that ended, half-open probes excluded
   * @param failures how many of {@code calls} failed (connect failure, reset, timeout, 502/503/504)
   * @param latencyMicros the summed time of {@code calls}
   * @param probeEpoch the epoch of the half-open probes reported here; 0 for none
   */
  public record Outcomes(String node, long calls, long failures, long latencyMicros, long probeEpoch,
      long probeSuccesses, long probeFailures) implements Command {}

  /** A node asks for one half-open probe permit. */
  public record AskProbe(String node, ActorRef<ProbeAnswer> replyTo) implements Command {}

  /** Whether a permit was granted, and for which epoch. */
  public record ProbeAnswer(long epoch, boolean granted) implements CborSerializable {}

  /** A node gives back {@code count} permits of {@code epoch} it did not use. */
  public record ReturnProbe(String node, long epoch, int count) implements Command {}

  /** An operator opens the breaker ({@code open}) or releases a forced open; answered with the new status. */
  public record ForceOpen(boolean open, String by, ActorRef<TargetStatus> replyTo) implements Command {}

  /** A config version without this target is in force: the guard removes its status and stops. */
  public record Retire(long configVersion) implements Command {}

  /** Sharding's stop message, after a passivation. */
  public record Stop() implements Command {}

  /** Messages a guard sends itself; they never leave its node. */
  sealed interface Internal extends Command
      permits OpenElapsed, HalfOpenExpired, ProbeNow, ProbeDone, IdleCheck, Adopted, Ignored {}

  record OpenElapsed(long epoch) implements Internal {}

  record HalfOpenExpired(long epoch) implements Internal {}

  record ProbeNow() implements Internal {}

  record ProbeDone(long round, boolean good, String outcome) implements Internal {}

  record IdleCheck() implements Internal {}

  record Adopted(Optional<TargetStatus> published) implements Internal {}

  record Ignored() implements Internal {}

  /** Starts the guards' sharding on {@code system}; every node does, so any node can host guards. */
  public static ShardRoute<Command> initSharding(ActorSystem<?> system, TargetBoard.Settings settings) {
    return ShardRoute.start(system, Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings,
            Clock.systemUTC(), System::nanoTime, self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self))))
        .withStopMessage(new Stop()));
  }

  /**
   * A guard that first adopts what its node's replica holds for its target, and meanwhile stashes
   * what it is sent (up to {@value #STASH} messages; more are dropped, as outcome batches may be).
   */
  static Behavior<Command> create(String id, TargetBoard.Settings settings, Clock clock, LongSupplier nanos,
      java.util.function.Consumer<ActorRef<Command>> passivate) {
    return Behaviors.withStash(STASH, stash -> Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      UpstreamGuard guard = new UpstreamGuard(context, timers, id, settings, clock, nanos,
          () -> passivate.accept(context.getSelf()));
      return Behaviors.receive(Command.class)
          .onMessage(Adopted.class, m -> {
            guard.adopt(m.published());
            return stash.unstashAll(guard);
          })
          .onAnyMessage(m -> {
            if (!stash.isFull()) {
              stash.stash(m);
            }
            return Behaviors.same();
          })
          .build();
    })));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String id;
  private final TargetBoard.Settings settings;
  private final Clock clock;
  private final LongSupplier nanos;
  private final Runnable passivate;
  private final ActorRef<Replicator.Command> replicator;
  private final SelfUniqueAddress self;
  private final ActorRef<Replicator.UpdateResponse<LWWMap<String, TargetStatus>>> ignoreUpdates;

  private GuardSpec spec;
  private long lastConfiguredNanos;
  private boolean retired;

  private Health health = Health.UNPROBED;
  private long healthSince;
  private int goodInRow;
  private int badInRow;
  private long probeRound;
  private boolean probeRunning;
  private ConnectionPoolSettings probePool;

  private Breaker breaker = Breaker.CLOSED;
  private long breakerSince;
  private long openUntil;
  private long epoch = 1;
  private int granted;
  private int probeSuccesses;
  private BreakerWindow window;
  private String reason = "started";

  UpstreamGuard(ActorContext<Command> context, TimerScheduler<Command> timers, String id, TargetBoard.Settings settings,
      Clock clock, LongSupplier nanos, Runnable passivate) {
    super(context);
    this.context = context;
    this.timers = timers;
    this.id = id;
    this.settings = settings;
    this.clock = clock;
    this.nanos = nanos;
    this.passivate = passivate;
    this.replicator = DistributedData.get(context.getSystem()).replicator();
    this.self = DistributedData.get(context.getSystem()).selfUniqueAddress();
    this.ignoreUpdates = context.getSystem().ignoreRef();
    this.healthSince = clock.millis();
    this.breakerSince = healthSince;
    this.lastConfiguredNanos = nanos.getAsLong();
    ActorRef<Replicator.GetResponse<LWWMap<String, TargetStatus>>> adoptions =
        context.messageAdapter(Replicator.GetResponse.class, this::adopted).unsafeUpcast();
    replicator.tell(new Replicator.Get<>(TargetStatus.KEY, Replicator.readLocal(), adoptions));
    timers.startTimerWithFixedDelay(new IdleCheck(), settings.keepalive());
  }

  @SuppressWarnings("unchecked")
  private Command adopted(Replicator.GetResponse<?> response) {
    if (response instanceof Replicator.GetSuccess<?> success) {
      LWWMap<String, TargetStatus> map = (LWWMap<String, TargetStatus>) success.dataValue();
      return new Adopted(Optional.ofNullable(map.getEntries().get(id)));
    }
    return new Adopted(Optional.empty());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Configure.class, this::onConfigure)
        .onMessage(Outcomes.class, this::onOutcomes)
        .onMessage(AskProbe.class, this::onAskProbe)
        .onMessage(ReturnProbe.class, this::onReturnProbe)
        .onMessage(ForceOpen.class, this::onForceOpen)
        .onMessage(Retire.class, this::onRetire)
        .onMessage(Stop.class, m -> Behaviors.stopped())
        .onMessage(OpenElapsed.class, this::onOpenElapsed)
        .onMessage(HalfOpenExpired.class, this::onHalfOpenExpired)
        .onMessage(ProbeNow.class, m -> probe())
        .onMessage(ProbeDone.class, this::onProbeDone)
        .onMessage(IdleCheck.class, m -> onIdleCheck())
        .onMessage(Adopted.class, m -> this)
        .onMessage(Ignored.class, m -> this)
        .build();
  }

  private void adopt(Optional<TargetStatus> published) {
    if (published.isEmpty()) {
      return;
    }
    TargetStatus s = published.get();
    long now = clock.millis();
    health = s.health();
    healthSince = s.healthSinceMillis();
    epoch = s.epoch() + 1;
    breakerSince = s.breakerSinceMillis();
    reason = s.reason();
    switch (s.breaker()) {
      case OPEN, HALF_OPEN -> {
        // A half-open episode's permits were granted by the guard that died: start a new one.
        breaker = Breaker.OPEN;
        openUntil = s.breaker() == Breaker.OPEN ? s.openUntilMillis() : now;
        timers.startSingleTimer(OPEN_TIMER, new OpenElapsed(epoch), Duration.ofMillis(Math.max(0, openUntil - now)));
      }
      case FORCED_OPEN -> breaker = Breaker.FORCED_OPEN;
      case CLOSED -> breaker = Breaker.CLOSED;
    }
    log.info("Guard of {} started with the state its node last saw: {} {} ({})", id, breaker, health, reason);
    publish();
  }

  private Behavior<Command> onConfigure(Configure m) {
    GuardSpec next = m.spec();
    if (!next.id().equals(id)) {
      log.warn("Guard of {} ignores a spec for {}", id, next.id());
      return this;
    }
    lastConfiguredNanos = nanos.getAsLong();
    if (spec != null && next.configVersion() < spec.configVersion()) {
      return this;
    }
    GuardSpec previous = spec;
    spec = next;
    if (previous != null && previous.equals(next)) {
      return this;
    }
    CircuitBreaker b = next.breaker();
    if (previous == null || !previous.breaker().window().equals(b.window())) {
      window = new BreakerWindow(b.window().toMillis());
    }
    if (!b.enabled() && (breaker == Breaker.OPEN || breaker == Breaker.HALF_OPEN)) {
      close("the breaker was turned off in config version " + next.configVersion());
    }
    if (previous == null && breaker == Breaker.OPEN) {
      // Adopted open: its OpenElapsed may have come before this first spec (a node's permit ask
      // started the guard) and been dropped, which would leave the breaker open for good.
      timers.startSingleTimer(OPEN_TIMER, new OpenElapsed(epoch), Duration.ofMillis(Math.max(0, openUntil - clock.millis())));
    }
    if (previous == null || !previous.probe().equals(next.probe()) || !previous.url().equals(next.url())) {
      startProbing(next.probe());
    }
    if (previous == null) {
      publish();
    }
    return this;
  }

  private void startProbing(Optional<ActiveHealthCheck> probe) {
    timers.cancel(PROBE_TIMER);
    probeRound++;
    probeRunning = false;
    goodInRow = 0;
    badInRow = 0;
    if (probe.isEmpty()) {
      if (health != Health.UNPROBED) {
        setHealth(Health.UNPROBED, "the upstream has no active health check");
      }
      return;
    }
    ActiveHealthCheck check = probe.get();
    if (health == Health.UNPROBED) {
      // A target starts healthy, as it does on a node without probes.
      health = Health.HEALTHY;
      healthSince = clock.millis();
    }
    Duration base = check.interval().compareTo(Duration.ofMillis(100)) < 0 ? check.interval() : Duration.ofMillis(100);
    var system = context.getSystem().classicSystem();
    probePool = ConnectionPoolSettings.create(system)
        .withMaxRetries(0)
        // A target that was down is reconnected to within about an interval of coming back, not
        // after the default exponential back-off of up to minutes.
        .withBaseConnectionBackoff(base)
        .withMaxConnectionBackoff(check.interval().compareTo(base) > 0 ? check.interval() : base)
        .withConnectionSettings(ClientConnectionSettings.create(system)
            .withConnectingTimeout(check.timeout())
            // Closes the connection of a probe that hangs past its timeout.
            .withIdleTimeout(check.timeout()));
    context.getSelf().tell(new ProbeNow());
    timers.startTimerWithFixedDelay(PROBE_TIMER, new ProbeNow(), check.interval());
  }

  private Behavior<Command> probe() {
    if (spec == null || spec.probe().isEmpty() || probeRunning) {
      return this;
    }
    ActiveHealthCheck check = spec.probe().get();
    probeRunning = true;
    long round = probeRound;
    CompletionStage<Integer> answer;
    try {
      Http http = Http.get(context.getSystem());
      answer = http.singleRequest(HttpRequest.GET(spec.url() + check.path()), http.defaultClientHttpsContext(),
              probePool, context.getSystem().classicSystem().log())
          .thenCompose(this::discard);
    } catch (RuntimeException e) {
      context.getSelf().tell(new ProbeDone(round, false, describe(e, check)));
      return this;
    }
    context.pipeToSelf(answer.toCompletableFuture().orTimeout(check.timeout().toMillis(), TimeUnit.MILLISECONDS),
        (code, failure) -> failure != null
            ? new ProbeDone(round, false, describe(failure, check))
            : new ProbeDone(round, check.expects(code), "status " + code));
    return this;
  }

  private CompletionStage<Integer> discard(HttpResponse response) {
    int code = response.status().intValue();
    return response.discardEntityBytes(context.getSystem()).completionStage().thenApply(done -> code);
  }

  private static String describe(Throwable failure, ActiveHealthCheck check) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    if (cause instanceof TimeoutException) {
      return "no answer within " + check.timeout().toMillis() + " ms";
    }
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  private Behavior<Command> onProbeDone(ProbeDone m) {
    if (m.round() != probeRound || spec == null || spec.probe().isEmpty()) {
      return this;
    }
    probeRunning = false;
    ActiveHealthCheck check = spec.probe().get();
    if (m.good()) {
      badInRow = 0;
      goodInRow++;
      if (health == Health.UNHEALTHY && goodInRow >= check.healthyThreshold()) {
        setHealth(Health.HEALTHY, goodInRow + " good probes of GET " + check.path() + " (" + m.outcome() + ")");
        if (breaker == Breaker.OPEN || breaker == Breaker.HALF_OPEN) {
          close("the active probe found the target healthy again");
        }
      }
    } else {
      goodInRow = 0;
      badInRow++;
      if (health != Health.UNHEALTHY && badInRow >= check.unhealthyThreshold()) {
        setHealth(Health.UNHEALTHY, badInRow + " failed probes of GET " + check.path() + " (last: " + m.outcome() + ")");
      }
    }
    return this;
  }

  private void setHealth(Health next, String why) {
    health = next;
    healthSince = clock.millis();
    reason = "health " + next + ": " + why;
    if (next == Health.UNHEALTHY) {
      log.warn("Upstream target {} is unhealthy: {}", id, why);
    } else {
      log.info("Upstream target {} is {}: {}", id, next, why);
    }
    publish();
  }

  private Behavior<Command> onOutcomes(Outcomes m) {
    if (spec == null) {
      // Configured within a keep-alive period; a breaker cannot judge without its settings.
      return this;
    }
    CircuitBreaker b = spec.breaker();
    switch (breaker) {
      case CLOSED -> {
        // A failure may come in the batch after its call's (see TargetHealth#drain).
        if (m.calls() > 0 || m.failures() > 0) {
          long now = nanos.getAsLong() / 1_000_000;
          window.record(now, m.calls(), m.failures());
          if (b.enabled() && window.trips(now, b.minimumCalls(), b.failureRatePercent())) {
            long calls = window.calls(now);
            long failures = window.failures(now);
            open(failures + " of " + calls + " calls failed within " + b.window().toMillis() + " ms ("
                + (failures * 100 / calls) + " %, threshold " + b.failureRatePercent() + " %)");
          }
        }
      }
      case HALF_OPEN -> {
        if (m.probeEpoch() == epoch) {
          if (m.probeFailures() > 0) {
            open("a half-open probe failed");
          } else {
            probeSuccesses += (int) m.probeSuccesses();
            if (probeSuccesses >= b.halfOpenProbes()) {
              close(probeSuccesses + " half-open probes succeeded");
            }
          }
        }
      }
      default -> {
        // Open: outcomes of requests sent before it opened say nothing new.
      }
    }
    return this;
  }

  private Behavior<Command> onAskProbe(AskProbe m) {
    boolean grant = spec != null && breaker == Breaker.HALF_OPEN && health != Health.UNHEALTHY
        && granted < spec.breaker().halfOpenProbes();
    if (grant) {
      granted++;
    }
    m.replyTo().tell(new ProbeAnswer(epoch, grant));
    return this;
  }

  private Behavior<Command> onReturnProbe(ReturnProbe m) {
    if (breaker == Breaker.HALF_OPEN && m.epoch() == epoch) {
      granted = Math.max(0, granted - m.count());
    }
    return this;
  }

  private Behavior<Command> onForceOpen(ForceOpen m) {
    if (m.open()) {
      if (breaker != Breaker.FORCED_OPEN) {
        transition(Breaker.FORCED_OPEN, "forced open by " + m.by());
        log.warn("Breaker of {} forced open by {}", id, m.by());
      }
    } else if (breaker == Breaker.FORCED_OPEN) {
      close("released by " + m.by());
    }
    m.replyTo().tell(status());
    return this;
  }

  private void open(String why) {
    transition(Breaker.OPEN, why);
    Duration open = spec.breaker().openDuration();
    openUntil = clock.millis() + open.toMillis();
    timers.startSingleTimer(OPEN_TIMER, new OpenElapsed(epoch), open);
    log.warn("Breaker of {} opened for {} ms: {}", id, open.toMillis(), why);
    publish();
  }

  private void close(String why) {
    transition(Breaker.CLOSED, why);
    if (window != null) {
      window.clear();
    }
    log.info("Breaker of {} closed: {}", id, why);
    publish();
  }

  private void transition(Breaker next, String why) {
    breaker = next;
    breakerSince = clock.millis();
    openUntil = 0;
    epoch++;
    granted = 0;
    probeSuccesses = 0;
    reason = "breaker " + next + ": " + why;
    timers.cancel(OPEN_TIMER);
    timers.cancel(HALF_OPEN_TIMER);
    if (next == Breaker.FORCED_OPEN) {
      publish();
    }
  }

  private Behavior<Command> onOpenElapsed(OpenElapsed m) {
    if (breaker != Breaker.OPEN || m.epoch() != epoch || spec == null) {
      return this;
    }
    transition(Breaker.HALF_OPEN, "open for " + spec.breaker().openDuration().toMillis() + " ms; "
        + spec.breaker().halfOpenProbes() + " probe requests may go");
    Duration deadline = spec.breaker().openDuration().compareTo(MIN_HALF_OPEN_DEADLINE) > 0
        ? spec.breaker().openDuration() : MIN_HALF_OPEN_DEADLINE;
    timers.startSingleTimer(HALF_OPEN_TIMER, new HalfOpenExpired(epoch), deadline);
    log.info("Breaker of {} is half-open", id);
    publish();
    return this;
  }

  private Behavior<Command> onHalfOpenExpired(HalfOpenExpired m) {
    if (breaker == Breaker.HALF_OPEN && m.epoch() == epoch && granted > 0) {
      open("of " + granted + " granted half-open probes, " + probeSuccesses + " answered in time");
    }
    return this;
  }

  private Behavior<Command> onRetire(Retire m) {
    if (spec != null && m.configVersion() <= spec.configVersion()) {
      return this;
    }
    retire("config version " + m.configVersion() + " has no such target");
    return this;
  }

  private Behavior<Command> onIdleCheck() {
    if (!retired && nanos.getAsLong() - lastConfiguredNanos > settings.guardIdle().toNanos()) {
      retire("no node has configured it for " + settings.guardIdle().toMillis() + " ms");
    }
    return this;
  }

  private void retire(String why) {
    if (retired) {
      return;
    }
    retired = true;
    timers.cancelAll();
    log.info("Guard of {} stops: {}", id, why);
    replicator.tell(new Replicator.Update<>(TargetStatus.KEY, LWWMap.empty(), new Replicator.WriteAll(PUBLISH_TIMEOUT),
        ignoreUpdates, map -> map.remove(self, id)));
    passivate.run();
  }

  /** This guard's status as it publishes it. */
  private TargetStatus status() {
    String upstream = spec != null ? spec.upstream() : id.substring(0, id.indexOf('/'));
    String target = spec != null ? spec.target() : id.substring(id.indexOf('/') + 1);
    return new TargetStatus(upstream, target, health, breaker, healthSince, breakerSince,
        breaker == Breaker.OPEN ? openUntil : 0, epoch, reason);
  }

  private void publish() {
    if (retired) {
      return;
    }
    TargetStatus s = status();
    replicator.tell(new Replicator.Update<>(TargetStatus.KEY, LWWMap.empty(), new Replicator.WriteAll(PUBLISH_TIMEOUT),
        ignoreUpdates, map -> map.put(self, id, s)));
  }
}
