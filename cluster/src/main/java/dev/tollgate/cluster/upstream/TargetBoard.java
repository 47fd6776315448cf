package dev.tollgate.cluster.upstream;

import dev.tollgate.cluster.ShardRoute;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's side of the upstream guards: it keeps one {@link TargetHealth} per target of the
 * current config, fed from the local replica of the guards' status map, so balancers never send a
 * remote message to choose a target. In the background it
 * <ul>
 *   <li>sends each guard this node's outcomes, one batch per target every {@code reportInterval};
 *   <li>asks guards for half-open probe permits, and gives back those it held unused;
 *   <li>configures the guards of every config version it swaps in, and retires the guards of targets
 *       the new version dropped;
 *   <li>on the oldest member only, configures every guard again each {@code keepalive}, so that a
 *       guard restarted elsewhere after a crash or rebalance runs (and probes) within that time.
 * </ul>
 */
public final class TargetBoard implements AutoCloseable {

  /** How long a node waits after a refused or failed permit ask before asking that guard again. */
  public static final Duration ASK_AGAIN_AFTER = Duration.ofMillis(200);

  private static final Logger log = LoggerFactory.getLogger(TargetBoard.class);

  /**
   * @param reportInterval how often outcome batches go to the guards (at most 100 ms)
   * @param keepalive how often the oldest node configures every guard again
   * @param guardIdle a guard not configured for this long stops and removes its status
   * @param permitHeld a half-open permit unused for this long goes back to its guard
   * @param askTimeout how long a node waits for a guard to answer (permits, forced opens)
   */
  public record Settings(Duration reportInterval, Duration keepalive, Duration guardIdle, Duration permitHeld,
      Duration askTimeout) {

    public static final Settings DEFAULT = new Settings(Duration.ofMillis(100), Duration.ofSeconds(2),
        Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(2));

    public Settings {
      Objects.requireNonNull(reportInterval, "reportInterval");
      Objects.requireNonNull(keepalive, "keepalive");
      Objects.requireNonNull(guardIdle, "guardIdle");
      Objects.requireNonNull(permitHeld, "permitHeld");
      Objects.requireNonNull(askTimeout, "askTimeout");
      if (guardIdle.compareTo(keepalive.multipliedBy(2)) < 0) {
        throw new IllegalArgumentException("guardIdle must be at least twice keepalive");
      }
    }
  }

  private final ActorSystem<?> system;
  private final Settings settings;
  private final ShardRoute<UpstreamGuard.Command> guards;
  private final Cluster cluster;
  private final String node;
  private final ConcurrentHashMap<String, TargetHealth> handles = new ConcurrentHashMap<>();
  private volatile Map<String, GuardSpec> specs = Map.of();
  private volatile Map<String, TargetStatus> statuses = Map.of();
  private long activeVersion = Long.MIN_VALUE;
  private final Cancellable reporting;
  private final Cancellable keepingAlive;

  private TargetBoard(ActorSystem<?> system, Settings settings, ShardRoute<UpstreamGuard.Command> guards) {
    this.system = system;
    this.settings = settings;
    this.guards = guards;
    this.cluster = Cluster.get(system);
    var self = cluster.selfMember().uniqueAddress();
    this.node = self.address() + "#" + self.longUid();
    system.systemActorOf(follower(this), "tollgate-target-status", Props.empty());
    this.reporting = system.scheduler().scheduleWithFixedDelay(settings.reportInterval(), settings.reportInterval(),
        this::report, system.executionContext());
    this.keepingAlive = system.scheduler().scheduleWithFixedDelay(settings.keepalive(), settings.keepalive(),
        this::keepalive, system.executionContext());
  }

  /** Starts the guards' sharding and this node's board. */
  public static TargetBoard start(ActorSystem<?> system, Settings settings) {
    Objects.requireNonNull(system, "system");
    Objects.requireNonNull(settings, "settings");
    return new TargetBoard(system, settings, UpstreamGuard.initSharding(system, settings));
  }

  /**
   * Makes {@code targets} the targets of this node's current config: configures their guards and
   * returns their handles, by id. When {@code configVersion} is newer than the version activated
   * before, the guards of targets it no longer has are retired.
   */
  public synchronized Map<String, TargetHealth> activate(long configVersion, List<GuardSpec> targets) {
    Map<String, GuardSpec> next = new HashMap<>();
    Map<String, TargetHealth> result = new HashMap<>();
    Map<String, TargetStatus> known = statuses;
    for (GuardSpec spec : targets) {
      String id = spec.id();
      next.put(id, spec);
      TargetHealth handle = handles.computeIfAbsent(id, key -> {
        TargetHealth h = new TargetHealth(key, this::askPermit, System::nanoTime);
        h.update(known.get(key));
        return h;
      });
      result.put(id, handle);
      guards.tell(id, new UpstreamGuard.Configure(spec));
    }
    if (configVersion > activeVersion && activeVersion != Long.MIN_VALUE) {
      for (String gone : specs.keySet()) {
        if (!next.containsKey(gone)) {
          guards.tell(gone, new UpstreamGuard.Retire(configVersion));
        }
      }
    }
    Set<String> dropped = new HashSet<>(handles.keySet());
    dropped.removeAll(next.keySet());
    dropped.forEach(handles::remove);
    specs = Map.copyOf(next);
    activeVersion = Math.max(activeVersion, configVersion);
    return Map.copyOf(result);
  }

  /** Every target's status in this node's replica, by id; targets of other config versions included. */
  public Map<String, TargetStatus> statuses() {
    return statuses;
  }

  /** The targets of this node's current config, by id. */
  public Map<String, GuardSpec> targets() {
    return specs;
  }

  /** Forces the breaker of target {@code id} open, or releases it; answered with the guard's new status. */
  public CompletionStage<TargetStatus> force(String id, boolean open, String by) {
    return guards.ask(id, replyTo -> new UpstreamGuard.ForceOpen(open, by, replyTo), settings.askTimeout());
  }

  private void askPermit(TargetHealth target) {
    long pause = ASK_AGAIN_AFTER.toNanos();
    try {
      guards.<UpstreamGuard.ProbeAnswer>ask(target.id(), replyTo -> new UpstreamGuard.AskProbe(node, replyTo),
              settings.askTimeout())
          .whenComplete((answer, failure) -> {
            if (failure != null) {
              target.askFailed(pause);
            } else {
              target.granted(answer, pause);
            }
          });
    } catch (RuntimeException e) {
      target.askFailed(pause);
    }
  }

  private void report() {
    long held = settings.permitHeld().toNanos();
    for (TargetHealth target : handles.values()) {
      UpstreamGuard.Outcomes outcomes = target.drain(node);
      if (outcomes != null) {
        guards.tell(target.id(), outcomes);
      }
      UpstreamGuard.ReturnProbe unused = target.takeUnusedPermits(node, held);
      if (unused != null) {
        guards.tell(target.id(), unused);
      }
    }
  }

  private void keepalive() {
    if (!isOldest()) {
      return;
    }
    for (GuardSpec spec : specs.values()) {
      guards.tell(spec.id(), new UpstreamGuard.Configure(spec));
    }
  }

  private boolean isOldest() {
    Member self = cluster.selfMember();
    if (self.status() != MemberStatus.up()) {
      return false;
    }
    for (Member m : cluster.state().getMembers()) {
      if (m.status() == MemberStatus.up() && !m.equals(self) && m.isOlderThan(self)) {
        return false;
      }
    }
    return true;
  }

  private void changed(Map<String, TargetStatus> next) {
    statuses = Map.copyOf(next);
    for (TargetHealth target : handles.values()) {
      target.update(next.get(target.id()));
    }
  }

  private static Behavior<Replicator.SubscribeResponse<LWWMap<String, TargetStatus>>> follower(TargetBoard board) {
    return Behaviors.setup(context -> {
      DistributedData.get(context.getSystem()).replicator()
          .tell(new Replicator.Subscribe<>(TargetStatus.KEY, context.getSelf()));
      return Behaviors.<Replicator.SubscribeResponse<LWWMap<String, TargetStatus>>>receiveMessage(message -> {
        if (message instanceof Replicator.Changed<LWWMap<String, TargetStatus>> changed) {
          board.changed(changed.get(TargetStatus.KEY).getEntries());
        }
        return Behaviors.same();
      });
    });
  }

  /** Stops reporting and keep-alives; the guards stay, hosted by the cluster. */
  @Override
  public void close() {
    reporting.cancel();
    keepingAlive.cancel();
    log.debug("Target board of {} closed", node);
  }
}
