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
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downs a crashed member at once instead of after the split-brain resolver's {@code down-after}.
 *
 * <p>The resolver waits {@code down-after} so that both sides of a partition see the same picture
 * before one of them downs the other. A member whose process is gone needs no such wait, and its
 * host says so: connecting to its remoting port is refused. So, on every node, each member the
 * failure detector finds unreachable is probed with a TCP connect; when {@link Settings#refusals}
 * probes in a row, {@link Settings#probeInterval} apart, are refused, and the members still reachable
 * are more than half of the cluster (what keep-majority would decide, only sooner), it is downed.
 * Its shards and singletons then start elsewhere after the removal margin.
 *
 * <p>Anything short of a refusal leaves the member to the resolver: a connect that is accepted (a
 * paused or busy process, or its next incarnation already bound), one that gets no answer in
 * {@link Settings#connectTimeout} (a host that is down or cut off), a host that cannot be reached.
 * Such members are probed again every {@link Settings#recheckInterval} while they stay unreachable,
 * since a paused process can die later. A live member's port never refuses a connect, unless a
 * firewall between the nodes rejects connections with a reset (then turn this off), or a kernel is
 * set to reset connections its full accept queue cannot take ({@code tcp_abort_on_overflow}, off by
 * default), which two refusals apart and an unreachable verdict first make unlikely to matter.
 */
public final class CrashDowning {

  private static final Logger log = LoggerFactory.getLogger(CrashDowning.class);

  /**
   * @param refusals refused probes in a row that prove a member's process gone
   * @param probeInterval the wait after a refused probe before the next one
   * @param recheckInterval the wait after a probe that was not refused (while the member stays
   *     unreachable), and after a refusal that could not be acted on for want of a majority
   * @param connectTimeout how long a probe waits for its connect
   */
  public record Settings(int refusals, Duration probeInterval, Duration recheckInterval, Duration connectTimeout) {

    public static final Settings DEFAULT =
        new Settings(2, Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(1));

    public Settings {
      Objects.requireNonNull(probeInterval, "probeInterval");
      Objects.requireNonNull(recheckInterval, "recheckInterval");
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
   * counts (neither joining nor weakly up); a downed member counts as unreachable.
   */
  static boolean reachableMajority(Iterable<Member> members, Set<Member> unreachable) {
    long counted = 0;
    long reachable = 0;
    for (Member m : members) {
      MemberStatus s = m.status();
      if (s == MemberStatus.joining() || s == MemberStatus.weaklyUp() || s == MemberStatus.removed()) {
        continue;
      }
      counted++;
      if (s != MemberStatus.down() && !unreachable.contains(m)) {
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

  private record Unreachable(Member member) implements Command {}

  private record ProbeNow(UniqueAddress node) implements Command {}

  private record Probed(UniqueAddress node, Probe probe) implements Command {}

  private static final class Watcher extends AbstractBehavior<Command> {

    private final TimerScheduler<Command> timers;
    private final Settings settings;
    private final Cluster cluster;
    private final Executor resolver;
    /** The members being probed, each with its refusals in a row so far. */
    private final Map<UniqueAddress, Integer> refusedInARow = new HashMap<>();
    /** Members found crashed but without a majority to down them, logged once each. */
    private final Set<UniqueAddress> leftToResolver = new HashSet<>();

    Watcher(ActorContext<Command> context, TimerScheduler<Command> timers, Settings settings) {
      super(context);
      this.timers = timers;
      this.settings = settings;
      this.cluster = Cluster.get(context.getSystem());
      this.resolver = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
      ActorRef<ClusterEvent.UnreachableMember> events =
          context.messageAdapter(ClusterEvent.UnreachableMember.class, e -> new Unreachable(e.member()));
      cluster.subscriptions().tell(Subscribe.create(events, ClusterEvent.UnreachableMember.class));
    }

    @Override
    public Receive<Command> createReceive() {
      return newReceiveBuilder()
          .onMessage(Unreachable.class, this::onUnreachable)
          .onMessage(ProbeNow.class, this::onProbeNow)
          .onMessage(Probed.class, this::onProbed)
          .build();
    }

    private Behavior<Command> onUnreachable(Unreachable u) {
      UniqueAddress node = u.member().uniqueAddress();
      if (!node.equals(cluster.selfMember().uniqueAddress()) && refusedInARow.putIfAbsent(node, 0) == null) {
        getContext().getSelf().tell(new ProbeNow(node));
      }
      return this;
    }

    /** The member as it stands now, if it is still unreachable and not yet downed. */
    private Optional<Member> stillUnreachable(UniqueAddress node) {
      return cluster.state().getUnreachable().stream()
          .filter(m -> m.uniqueAddress().equals(node) && m.status() != MemberStatus.down()
              && m.status() != MemberStatus.removed())
          .findFirst();
    }

    private void forget(UniqueAddress node) {
      refusedInARow.remove(node);
      leftToResolver.remove(node);
      timers.cancel(node);
    }

    private Behavior<Command> onProbeNow(ProbeNow p) {
      Optional<Member> member = stillUnreachable(p.node());
      if (member.isEmpty() || !refusedInARow.containsKey(p.node())) {
        forget(p.node());
        return this;
      }
      org.apache.pekko.actor.Address address = member.get().address();
      if (address.getHost().isEmpty() || address.getPort().isEmpty()) {
        forget(p.node());
        return this;
      }
      getContext().pipeToSelf(
          probe(address.getHost().get(), address.getPort().get(), settings.connectTimeout(), resolver),
          (probe, failure) -> new Probed(p.node(), failure == null ? probe : Probe.NO_ANSWER));
      return this;
    }

    private Behavior<Command> onProbed(Probed p) {
      Integer before = refusedInARow.get(p.node());
      Optional<Member> member = stillUnreachable(p.node());
      if (before == null || member.isEmpty()) {
        forget(p.node());
        return this;
      }
      if (p.probe() != Probe.REFUSED) {
        log.debug("Member {} is unreachable; its remoting port: {}", member.get().address(), p.probe());
        refusedInARow.put(p.node(), 0);
        timers.startSingleTimer(p.node(), new ProbeNow(p.node()), settings.recheckInterval());
        return this;
      }
      int refused = before + 1;
      refusedInARow.put(p.node(), refused);
      if (refused < settings.refusals()) {
        timers.startSingleTimer(p.node(), new ProbeNow(p.node()), settings.probeInterval());
        return this;
      }
      ClusterEvent.CurrentClusterState state = cluster.state();
      Iterable<Member> members = state.getMembers();
      long size = StreamSupport.stream(members.spliterator(), false).count();
      long unreachable = state.getUnreachable().size();
      if (reachableMajority(members, state.getUnreachable())
          && cluster.selfMember().status() == MemberStatus.up()) {
        log.warn("Member {} is unreachable and its remoting port refused {} connects in a row, {} ms apart: its"
            + " process is gone. Downing it now, not after down-after ({} of {} members unreachable)",
            member.get().address(), refused, settings.probeInterval().toMillis(), unreachable, size);
        cluster.manager().tell(new Down(member.get().address()));
        forget(p.node());
        return this;
      }
      if (leftToResolver.add(p.node())) {
        log.info("Member {} is unreachable and its remoting port refuses connects, but {} of {} members are"
            + " unreachable: no majority here, so the split-brain resolver decides", member.get().address(),
            unreachable, size);
      }
      refusedInARow.put(p.node(), 0);
      timers.startSingleTimer(p.node(), new ProbeNow(p.node()), settings.recheckInterval());
      return this;
    }
  }
}
