package dev.tollgate.cluster;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.CompletionHandler;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.remote.RemoteActorRefProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Downs a crashed member at once instead of after the failure detector's verdict and the
 * split-brain resolver's {@code down-after}.
 *
 * <p>The resolver waits {@code down-after} so that both sides of a partition see the same picture
 * before one of them downs the other, and the failure detector waits out its acceptable heartbeat
 * pause before that. A member whose process is gone needs neither wait, and its host says so:
 * connecting to its remoting port is refused. So every node connects to each other member's
 * remoting port every {@link Settings#watchInterval}. When {@link Settings#refusals} connects in a
 * row, {@link Settings#probeInterval} apart, are refused, and the members that can still be reached
 * are more than half of the cluster (what keep-majority would decide, only sooner), the member is
 * downed, and its incarnation quarantined, so that the leader removes it at once. Its shards and
 * singletons then start elsewhere after the removal margin.
 *
 * <p>Anything short of a refusal leaves the member to the failure detector and the resolver: a
 * connect that is accepted (a live, paused or busy process, or its next incarnation already bound),
 * one that gets no answer in {@link Settings#connectTimeout} (a host that is down or cut off), a
 * host that cannot be reached. A member that is leaving is probed only once the failure detector
 * finds it unreachable, and an exiting one not at all: its remoting stops when its leaving is done,
 * and Pekko removes an exiting member that stops answering without downing it. A live member's port never
 * refuses a connect, unless a firewall between the nodes rejects connections with a reset (then
 * turn this off: the majority rule keeps an isolated node from downing the others, but not a
 * firewall that resets some paths only), or a kernel is set to reset connections its full accept
 * queue cannot take ({@code tcp_abort_on_overflow}, off by default).
 */
public final class CrashDowning {

  private static final Logger log = LoggerFactory.getLogger(CrashDowning.class);

  /**
   * @param watchInterval how often each other member's remoting port is probed
   * @param refusals refused probes in a row that prove a member's process gone
   * @param probeInterval the wait after a refused probe before the next one
   * @param connectTimeout how long a probe waits for its connect
   */
  public record Settings(Duration watchInterval, int refusals, Duration probeInterval, Duration connectTimeout) {

    public static final Settings DEFAULT =
        new Settings(Duration.ofMillis(500), 2, Duration.ofMillis(200), Duration.ofSeconds(1));

    public Settings {
      Objects.requireNonNull(watchInterval, "watchInterval");
      Objects.requireNonNull(probeInterval, "probeInterval");
      Objects.requireNonNull(connectTimeout, "connectTimeout");
      if (refusals < 1) {
        throw new IllegalArgumentException("refusals must be at least 1");
      }
    }
  }

  /** What a TCP connect to a member's remoting port found. */
  enum Probe {
    /** Something listens there. */
    ACCEPTED,
    /** Nothing listens there: the host answered with a reset. */
    REFUSED,
    /** No verdict: no answer in time, a host that cannot be reached, or an address that does not resolve. */
    NO_ANSWER
  }

  private CrashDowning() {}

  /** Starts the watcher on this node. */
  public static ActorRef<Command> start(ActorSystem<?> system, Settings settings) {
    return system.systemActorOf(behavior(settings), "tollgate-crash-downing", Props.empty());
  }

  static Behavior<Command> behavior(Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new Watcher(context, timers, settings)));
  }

  /**
   * Whether the members that can still be reached are a majority, counting the members keep-majority
   * counts (neither joining nor weakly up). A member is out of reach when the failure detector finds
   * it unreachable, when it is downed, or when its port refused this node's last probe.
   */
  static boolean reachableMajority(Iterable<Member> members, Set<Member> unreachable, Set<UniqueAddress> refusing) {
    long counted = 0;
    long reachable = 0;
    for (Member m : members) {
      MemberStatus s = m.status();
      if (s == MemberStatus.joining() || s == MemberStatus.weaklyUp() || s == MemberStatus.removed()) {
        continue;
      }
      counted++;
      if (s != MemberStatus.down() && !unreachable.contains(m) && !refusing.contains(m.uniqueAddress())) {
        reachable++;
      }
    }
    return 2 * reachable > counted;
  }

  /**
   * Connects to {@code host:port} and tells what the host answered; the name is resolved on {@code
   * resolver}, which may block.
   */
  static CompletionStage<Probe> probe(String host, int port, Duration timeout, Executor resolver) {
    return CompletableFuture.supplyAsync(() -> new InetSocketAddress(host, port), resolver)
        .thenCompose(target -> target.isUnresolved() ? CompletableFuture.completedFuture(Probe.NO_ANSWER)
            : connect(target, timeout));
  }

  private static CompletableFuture<Probe> connect(InetSocketAddress target, Duration timeout) {
    CompletableFuture<Probe> result = new CompletableFuture<>();
    AsynchronousSocketChannel channel;
    try {
      channel = AsynchronousSocketChannel.open();
    } catch (IOException e) {
      result.complete(Probe.NO_ANSWER);
      return result;
    }
    result.completeOnTimeout(Probe.NO_ANSWER, timeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((probe, failure) -> closeQuietly(channel));
    try {
      channel.connect(target, null, new CompletionHandler<Void, Void>() {
        @Override
        public void completed(Void ignored, Void attachment) {
          result.complete(Probe.ACCEPTED);
        }

        @Override
        public void failed(Throwable failure, Void attachment) {
          // ECONNREFUSED is a ConnectException; so is ETIMEDOUT, which takes the kernel far longer
          // than the timeout above. An unreachable host or network is a NoRouteToHostException.
          result.complete(failure instanceof ConnectException ? Probe.REFUSED : Probe.NO_ANSWER);
        }
      });
    } catch (RuntimeException e) {
      result.complete(Probe.NO_ANSWER);
    }
    return result;
  }

  private static void closeQuietly(AsynchronousSocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // A probe's channel has nothing to flush.
    }
  }

  /** The watcher's messages. */
  public sealed interface Command {}

  private enum Tick implements Command { INSTANCE }

  private record ProbeAgain(UniqueAddress node) implements Command {}

  private record Probed(UniqueAddress node, Probe probe) implements Command {}

  /** One watched member. */
  private static final class Watch {
    /** Its refused probes in a row. */
    int refused;
    /** Whether a probe of it is out or due soon (a tick then starts none). */
    boolean probing;
    /** Whether this node found it crashed without a majority to down it (logged once). */
    boolean leftToResolver;
  }

  private static final class Watcher extends AbstractBehavior<Command> {

    private final Settings settings;
    private final TimerScheduler<Command> timers;
    private final Cluster cluster;
    private final Executor resolver;
    /** What this node knows of each member it watches. */
    private final Map<UniqueAddress, Watch> watches = new HashMap<>();

    Watcher(ActorContext<Command> context, TimerScheduler<Command> timers, Settings settings) {
      super(context);
      this.settings = settings;
      this.timers = timers;
      this.cluster = Cluster.get(context.getSystem());
      this.resolver = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.watchInterval());
    }

    @Override
    public Receive<Command> createReceive() {
      return newReceiveBuilder()
          .onMessageEquals(Tick.INSTANCE, this::onTick)
          .onMessage(ProbeAgain.class, p -> {
            watched(p.node()).ifPresentOrElse(this::probe, () -> forget(p.node()));
            return this;
          })
          .onMessage(Probed.class, this::onProbed)
          .build();
    }

    /** The member, if it is still one to watch: another member, up, or leaving and unreachable. */
    private Optional<Member> watched(UniqueAddress node) {
      ClusterEvent.CurrentClusterState state = cluster.state();
      return StreamSupport.stream(state.getMembers().spliterator(), false)
          .filter(m -> m.uniqueAddress().equals(node) && watches(m, state.getUnreachable()))
          .findFirst();
    }

    private boolean watches(Member m, Set<Member> unreachable) {
      MemberStatus s = m.status();
      if (m.uniqueAddress().equals(cluster.selfMember().uniqueAddress()) || s == MemberStatus.down()
          || s == MemberStatus.removed() || m.address().getHost().isEmpty() || m.address().getPort().isEmpty()) {
        return false;
      }
      // An exiting member that stops answering is removed without downing; a leaving one is probed
      // only once unreachable, as its remoting stops when it has left.
      return s == MemberStatus.up() || s == MemberStatus.weaklyUp() || s == MemberStatus.joining()
          || (s == MemberStatus.leaving() && unreachable.contains(m));
    }

    private Behavior<Command> onTick() {
      ClusterEvent.CurrentClusterState state = cluster.state();
      Set<UniqueAddress> present = new HashSet<>();
      for (Member m : state.getMembers()) {
        if (watches(m, state.getUnreachable())) {
          present.add(m.uniqueAddress());
          if (!watches.computeIfAbsent(m.uniqueAddress(), node -> new Watch()).probing) {
            probe(m);
          }
        }
      }
      watches.entrySet().removeIf(e -> !present.contains(e.getKey()) && !e.getValue().probing);
      return this;
    }

    private void probe(Member m) {
      UniqueAddress node = m.uniqueAddress();
      watches.computeIfAbsent(node, n -> new Watch()).probing = true;
      getContext().pipeToSelf(
          CrashDowning.probe(m.address().getHost().get(), m.address().getPort().get(),
              settings.connectTimeout(), resolver),
          (probe, failure) -> new Probed(node, failure == null ? probe : Probe.NO_ANSWER));
    }

    /**
     * Quarantines the dead incarnation, as Pekko does once a member is removed. The cluster then
     * takes it for terminated at once, rather than when the failure detector gives up on it, and
     * the leader removes it (it is down already) on its next round: without this, a member downed
     * before the failure detector's verdict would wait for that verdict to be removed.
     */
    private void quarantine(Member m) {
      if (getContext().getSystem().classicSystem() instanceof ExtendedActorSystem system
          && system.provider() instanceof RemoteActorRefProvider remoting) {
        remoting.quarantine(m.address(), Option.apply((Object) m.uniqueAddress().longUid()),
            "its remoting port refuses connections: its process is gone");
      }
    }

    private void forget(UniqueAddress node) {
      watches.remove(node);
      timers.cancel(node);
    }

    private Behavior<Command> onProbed(Probed p) {
      Optional<Member> member = watched(p.node());
      Watch watch = watches.get(p.node());
      if (member.isEmpty() || watch == null) {
        forget(p.node());
        return this;
      }
      if (p.probe() != Probe.REFUSED) {
        if (watch.refused > 0 || watch.leftToResolver) {
          log.info("Member {}'s remoting port answers again ({})", member.get().address(), p.probe());
        }
        watch.refused = 0;
        watch.leftToResolver = false;
        watch.probing = false;
        return this;
      }
      int refused = ++watch.refused;
      if (refused < settings.refusals()) {
        timers.startSingleTimer(p.node(), new ProbeAgain(p.node()), settings.probeInterval());
        return this;
      }
      watch.probing = false;
      ClusterEvent.CurrentClusterState state = cluster.state();
      Set<UniqueAddress> refusing = new HashSet<>();
      watches.forEach((node, w) -> {
        if (w.refused > 0) {
          refusing.add(node);
        }
      });
      long size = StreamSupport.stream(state.getMembers().spliterator(), false).count();
      boolean detected = state.getUnreachable().contains(member.get());
      if (reachableMajority(state.getMembers(), state.getUnreachable(), refusing)
          && cluster.selfMember().status() == MemberStatus.up()) {
        log.warn("Member {} refused {} connects to its remoting port in a row, {} ms apart ({}): its process is"
            + " gone. Downing it now ({} of {} members refuse, {} unreachable to the failure detector)",
            member.get().address(), refused, settings.probeInterval().toMillis(),
            detected ? "unreachable to the failure detector too" : "before the failure detector's verdict",
            refusing.size(), size, state.getUnreachable().size());
        cluster.manager().tell(new Down(member.get().address()));
        quarantine(member.get());
        forget(p.node());
        return this;
      }
      if (!watch.leftToResolver) {
        watch.leftToResolver = true;
        log.info("Member {} refuses connects to its remoting port, but too many members are out of reach here"
            + " ({} of {} refuse, {} unreachable to the failure detector): no majority on this side, so the"
            + " split-brain resolver decides", member.get().address(), refusing.size(), size,
            state.getUnreachable().size());
      }
      return this;
    }
  }
}
