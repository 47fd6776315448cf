package dev.tollgate.cluster.config;

import dev.tollgate.persistence.CborSerializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.LWWRegisterKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The cluster's declarative config, versioned: an event-sourced cluster singleton that persists
 * every applied document in the journal (H2 or PostgreSQL) and publishes the current version
 * through Distributed Data, written to every reachable node at once ({@code WriteAll}) and gossiped
 * to the rest.
 *
 * <p>It stores documents that the caller has validated; it decides only versions. Versions count up
 * from 1 and are never reused: a rollback applies an earlier version's document as a new version.
 * Applying the document that is current already changes nothing. {@link Seed} (a node's
 * {@code --config} file at start-up) applies to an empty store, or over a version that was itself a
 * seed (the files changed, as in a rolling update of the nodes' files); it never overwrites a
 * version applied through the admin API. The published register orders by version, so a singleton that moved to another
 * node can never publish an older config over a newer one. The documents of the last
 * {@value #KEEP_DOCUMENTS} versions are kept for rollbacks; the history of all versions is kept.
 */
public final class ConfigStore extends EventSourcedBehavior<ConfigStore.Command, ConfigStore.Event, ConfigStore.State> {

  public static final String PERSISTENCE_ID = "tollgate-config";
  /** Where nodes find the current version. */
  public static final Key<LWWRegister<ConfigVersion>> CURRENT = LWWRegisterKey.create("tollgate-config");
  static final int KEEP_DOCUMENTS = 100;
  private static final Duration PUBLISH_TIMEOUT = Duration.ofSeconds(3);
  /** Versions order the register, not wall clocks, which differ between the nodes the singleton may run on. */
  private static final LWWRegister.Clock<ConfigVersion> BY_VERSION = (current, value) -> value.version();

  /**
   * One applied version.
   *
   * @param rollbackOf the version whose document this one restored; 0 when none
   */
  public record ConfigVersion(long version, long appliedAtMillis, String digest, String appliedBy, String document,
      long rollbackOf) implements CborSerializable {

    public ConfigVersion {
      Objects.requireNonNull(digest, "digest");
      Objects.requireNonNull(appliedBy, "appliedBy");
      Objects.requireNonNull(document, "document");
    }

    public VersionInfo info() {
      return new VersionInfo(version, appliedAtMillis, digest, appliedBy, rollbackOf);
    }
  }

  /** What the history says of a version, without its document. */
  public record VersionInfo(long version, long appliedAtMillis, String digest, String appliedBy, long rollbackOf)
      implements CborSerializable {}

  public sealed interface Command extends CborSerializable permits Apply, Seed, Rollback, GetCurrent, GetHistory {}

  /** Applies a validated document as the next version, unless it is the current one already. */
  public record Apply(String document, String appliedBy, ActorRef<Reply> replyTo) implements Command {}

  /**
   * Applies a node's file: as version 1 of an empty store, or as the next version when the current
   * one was a seed too; when the current version was applied otherwise, changes nothing.
   */
  public record Seed(String document, String appliedBy, ActorRef<Reply> replyTo) implements Command {}

  /** Applies the document of an earlier version as the next version. */
  public record Rollback(long version, String appliedBy, ActorRef<Reply> replyTo) implements Command {}

  public record GetCurrent(ActorRef<Current> replyTo) implements Command {}

  public record GetHistory(ActorRef<History> replyTo) implements Command {}

  public sealed interface Reply extends CborSerializable permits Applied, Unchanged, Refused {}

  /** A new version is stored (and being published). */
  public record Applied(ConfigVersion version) implements Reply {}

  /** Nothing was stored: the document is current already, or a seed met a store that has versions. */
  public record Unchanged(ConfigVersion current) implements Reply {}

  /** Nothing was stored, for the reason given (a rollback to a version the store does not have). */
  public record Refused(String reason) implements Reply {}

  public record Current(Optional<ConfigVersion> version) implements CborSerializable {}

  /** Every version, oldest first. */
  public record History(List<VersionInfo> versions) implements CborSerializable {}

  public sealed interface Event extends CborSerializable permits VersionApplied {}

  public record VersionApplied(ConfigVersion version) implements Event {}

  /**
   * The store's state: the history of every version, and the last versions whole.
   *
   * @param kept the last {@value #KEEP_DOCUMENTS} versions, oldest first; the last is current
   */
  public record State(List<VersionInfo> history, List<ConfigVersion> kept) implements CborSerializable {

    public State {
      history = List.copyOf(history);
      kept = List.copyOf(kept);
    }

    Optional<ConfigVersion> current() {
      return kept.isEmpty() ? Optional.empty() : Optional.of(kept.get(kept.size() - 1));
    }

    long nextVersion() {
      return history.isEmpty() ? 1 : history.get(history.size() - 1).version() + 1;
    }

    State with(ConfigVersion v) {
      List<VersionInfo> h = new ArrayList<>(history);
      h.add(v.info());
      List<ConfigVersion> k = new ArrayList<>(kept);
      k.add(v);
      if (k.size() > KEEP_DOCUMENTS) {
        k.remove(0);
      }
      return new State(h, k);
    }
  }

  private final ActorContext<Command> context;
  private final Clock clock;
  private final ActorRef<Replicator.Command> replicator;
  private final SelfUniqueAddress self;

  private ConfigStore(ActorContext<Command> context, Clock clock) {
    super(PersistenceId.ofUniqueId(PERSISTENCE_ID));
    this.context = context;
    this.clock = clock;
    this.replicator = DistributedData.get(context.getSystem()).replicator();
    this.self = DistributedData.get(context.getSystem()).selfUniqueAddress();
  }

  public static Behavior<Command> create(Clock clock) {
    return Behaviors.setup(context -> new ConfigStore(context, clock));
  }

  /** Starts (or finds) the cluster's one store and returns a reference that reaches it from this node. */
  public static ActorRef<Command> singleton(ActorSystem<?> system, Clock clock) {
    return ClusterSingleton.get(system).init(SingletonActor.of(create(clock), "tollgate-config-store"));
  }

  /** Who applies a seed: {@code seed:<file>}. */
  public static final String SEED_PREFIX = "seed:";

  static boolean isSeed(ConfigVersion v) {
    return v.appliedBy().startsWith(SEED_PREFIX) && v.rollbackOf() == 0;
  }

  /** The SHA-256 of a document, in lower-case hex. */
  public static String digest(String document) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(document.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  @Override
  public State emptyState() {
    return new State(List.of(), List.of());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 2);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Apply.class, (state, c) -> apply(state, c.document(), c.appliedBy(), 0, c.replyTo()))
        .onCommand(Seed.class, (state, c) -> state.current().isPresent() && !isSeed(state.current().get())
            ? Effect().reply(c.replyTo(), new Unchanged(state.current().get()))
            : apply(state, c.document(), c.appliedBy(), 0, c.replyTo()))
        .onCommand(Rollback.class, this::rollback)
        .onCommand(GetCurrent.class, (state, c) -> Effect().reply(c.replyTo(), new Current(state.current())))
        .onCommand(GetHistory.class, (state, c) -> Effect().reply(c.replyTo(), new History(state.history())))
        .build();
  }

  private org.apache.pekko.persistence.typed.javadsl.ReplyEffect<Event, State> rollback(State state, Rollback c) {
    if (state.history().stream().noneMatch(v -> v.version() == c.version())) {
      return Effect().reply(c.replyTo(), new Refused(state.history().isEmpty()
          ? "there is no version " + c.version() + ": no config has been applied yet"
          : "there is no version " + c.version() + " (versions are 1 to " + (state.nextVersion() - 1) + ")"));
    }
    Optional<ConfigVersion> earlier = state.kept().stream().filter(v -> v.version() == c.version()).findFirst();
    if (earlier.isEmpty()) {
      return Effect().reply(c.replyTo(), new Refused("the document of version " + c.version()
          + " is no longer kept (the last " + KEEP_DOCUMENTS + " versions are)"));
    }
    return apply(state, earlier.get().document(), c.appliedBy(), c.version(), c.replyTo());
  }

  private org.apache.pekko.persistence.typed.javadsl.ReplyEffect<Event, State> apply(State state, String document,
      String by, long rollbackOf, ActorRef<Reply> replyTo) {
    String digest = digest(document);
    Optional<ConfigVersion> current = state.current();
    if (current.isPresent() && current.get().digest().equals(digest)) {
      return Effect().reply(replyTo, new Unchanged(current.get()));
    }
    ConfigVersion next = new ConfigVersion(state.nextVersion(), clock.millis(), digest, by, document, rollbackOf);
    return Effect().persist(new VersionApplied(next))
        .thenRun(s -> publish(next))
        .thenReply(replyTo, s -> new Applied(next));
  }

  private void publish(ConfigVersion version) {
    replicator.tell(new Replicator.Update<>(CURRENT, LWWRegister.create(self, version, BY_VERSION),
        new Replicator.WriteAll(PUBLISH_TIMEOUT), context.getSystem().ignoreRef(),
        register -> register.withValue(self, version, BY_VERSION)));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(VersionApplied.class, (state, e) -> state.with(e.version()))
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    // Distributed Data lives in memory: after a full restart, or on the node the singleton moved to,
    // the current version is published again from the journal.
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> state.current().ifPresent(this::publish))
        .build();
  }
}
