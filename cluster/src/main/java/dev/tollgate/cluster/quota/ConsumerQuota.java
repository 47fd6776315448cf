package dev.tollgate.cluster.quota;

import dev.tollgate.cluster.ShardRoute;
import dev.tollgate.persistence.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.state.RecoveryCompleted;
import org.apache.pekko.persistence.typed.state.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.state.javadsl.DurableStateBehavior;
import org.apache.pekko.persistence.typed.state.javadsl.Effect;
import org.apache.pekko.persistence.typed.state.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sharded entity that owns the budgets of one consumer in one scope (its plan, or one route's
 * limits for it), and hands nodes leases on them. Windows ({@link LeaseLedger}) are durable: the
 * entity stores their books whole, once per change, which is once per lease granted or returned and
 * never per request, so a restarted entity (another node, or a restarted cluster) still counts what
 * was spent and what is leased out. Token buckets ({@link RateLeaseLedger}) live in memory.
 *
 * <p>A grant is answered only after its book is stored: a node never admits from a lease the
 * database did not take. If storing fails (the database is down), the entity restarts with back-off
 * and reloads; the asking nodes time out and follow their plan's {@code on_unavailable}.
 *
 * <p>Nodes send the limit's definition with each ask ({@link LimitSpec}), so the entity needs no
 * configuration of its own; a book is opened by the first ask that names it.
 */
public final class ConsumerQuota extends DurableStateBehavior<ConsumerQuota.Command, ConsumerQuota.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "ConsumerQuota");

  private static final Logger LOG = LoggerFactory.getLogger(ConsumerQuota.class);

  /** What the entity is asked. */
  public sealed interface Command extends CborSerializable permits Acquire, Release, GetUsage, Stop {}

  /**
   * One limit's part of a request: return what the node's lease did not use (when {@code
   * releaseLeaseId > 0}), then grant up to {@code wanted} tokens.
   *
   * @param demandPerSecond the node's recent requests per second for this limit, to size the lease
   * @param releaseLeaseId the newest lease id the returned tokens came from, or 0 for none
   * @param releaseWindowId the window those tokens were granted for
   * @param unused how many tokens come back
   */
  public record Ask(
      LimitSpec limit,
      long wanted,
      long demandPerSecond,
      long releaseLeaseId,
      long releaseWindowId,
      long unused,
      boolean nextWindow) {

    public Ask {
      Objects.requireNonNull(limit, "limit");
    }

    public static Ask grant(LimitSpec limit, long wanted, long demandPerSecond) {
      return new Ask(limit, wanted, demandPerSecond, 0, 0, 0, false);
    }

    /**
     * A lease for the window after the current one, usable from its first instant, asked for
     * shortly before it starts so that the node need not wait for the entity when it does. Windows
     * only; granted only within {@link #NEXT_WINDOW_LEAD} of the next window's start.
     */
    public static Ask grantNextWindow(LimitSpec limit, long wanted, long demandPerSecond) {
      return new Ask(limit, wanted, demandPerSecond, 0, 0, 0, true);
    }

    public static Ask release(LimitSpec limit, LocalLease.Unused unused) {
      return new Ask(limit, 0, 0, unused.leaseId(), unused.windowId(), unused.tokens(), false);
    }

    /** Gives back the whole of a grant that nothing was admitted with. */
    public static Ask releaseAll(LimitSpec limit, LeaseGrant grant) {
      return new Ask(limit, 0, 0, grant.leaseId(), grant.windowId(), grant.tokens(), false);
    }
  }

  /** How long before a window starts its leases may be granted. */
  public static final Duration NEXT_WINDOW_LEAD = Duration.ofSeconds(1);

  /**
   * Asks for leases on some limits of this entity; answered with one grant per ask, in order.
   *
   * @param answerBy when the node stops waiting (epoch milliseconds), or 0 for never: an ask that
   *     reaches the entity later than that (plus {@link #LATE_MARGIN} for clock differences), such
   *     as one stashed while the entity recovered, returns what it carries but is granted nothing,
   *     since nobody would use the tokens
   */
  public record Acquire(String node, List<Ask> asks, long answerBy, ActorRef<Answer> replyTo) implements Command {

    public Acquire {
      Objects.requireNonNull(node, "node");
      asks = List.copyOf(asks);
      Objects.requireNonNull(replyTo, "replyTo");
    }

    public Acquire(String node, List<Ask> asks, ActorRef<Answer> replyTo) {
      this(node, asks, 0, replyTo);
    }
  }

  /** How late past its {@code answerBy} an ask may arrive and still be granted tokens. */
  public static final Duration LATE_MARGIN = Duration.ofSeconds(1);

  /** Returns unused tokens (asks with nothing wanted); not answered. */
  public record Release(String node, List<Ask> asks) implements Command {

    public Release {
      Objects.requireNonNull(node, "node");
      asks = List.copyOf(asks);
    }
  }

  /**
   * Reads the books of some limits as they stand, for the admin API. Read-only: it grants, returns,
   * expires and stores nothing, and leaves every book as it was; a limit whose book the entity has
   * not opened reads as a fresh book would start (a whole window, a full bucket).
   */
  public record GetUsage(List<LimitSpec> limits, ActorRef<Usage> replyTo) implements Command {

    public GetUsage {
      limits = List.copyOf(limits);
      Objects.requireNonNull(replyTo, "replyTo");
    }
  }

  /**
   * The answer to a {@link GetUsage}: one entry per limit, in order, read at {@code asOf} by the
   * entity's clock.
   *
   * @param node the address of the member the entity runs on, as Pekko writes it
   */
  public record Usage(Instant asOf, String node, List<LimitUsage> limits) implements CborSerializable {

    public Usage {
      Objects.requireNonNull(asOf, "asOf");
      Objects.requireNonNull(node, "node");
      limits = List.copyOf(limits);
    }
  }

  /**
   * What the entity holds for one limit. Tokens leased out count as spent from the entity's side:
   * it cannot know how many of them the nodes have admitted requests with until they return the
   * rest.
   *
   * @param consumed windows: tokens settled as spent in the current window (used parts of returned
   *     leases, and expired leases, which stay spent); buckets: 0
   * @param leasedOut tokens of leases nodes hold, neither returned nor expired
   * @param remaining what the entity could still grant: for a window {@code requests - consumed -
   *     leasedOut}, for a bucket the tokens it holds
   * @param resetAt a window's end; when a bucket is full again if nothing more is taken
   */
  public record LimitUsage(String limitId, long consumed, long leasedOut, long remaining, Instant resetAt) {

    public LimitUsage {
      Objects.requireNonNull(limitId, "limitId");
      Objects.requireNonNull(resetAt, "resetAt");
    }
  }

  /** Stops the entity once whatever it is storing is stored; sharding sends it to passivate. */
  public record Stop() implements Command {}

  /** The entity's answer to an {@link Acquire}. */
  public record Answer(List<LeaseGrant> grants) implements CborSerializable {

    public Answer {
      grants = List.copyOf(grants);
    }
  }

  /**
   * A lease on one limit, possibly of zero tokens.
   *
   * @param validFrom the first instant the lease may be used: now, or the start of the next window
   * @param available what the entity could still grant after this grant, across all nodes
   * @param resetAt when a window ends, or when a bucket is full again
   * @param retryAt when to ask again if this grant has no tokens: the end of a spent window, or when
   *     a bucket has refilled enough for a lease worth asking for
   */
  public record LeaseGrant(
      String limitId,
      long leaseId,
      long tokens,
      Instant validFrom,
      Instant expiresAt,
      long windowId,
      long available,
      Instant resetAt,
      Instant retryAt) {

    /** As {@link LocalLease#accept} takes it. */
    public LeaseLedger.Grant asGrant() {
      return new LeaseLedger.Grant(leaseId, tokens, expiresAt, windowId);
    }
  }

  /**
   * The durable part: the book of every window limit, by limit id, and the books of next windows
   * that have granted leases ahead of their start.
   */
  public record State(Map<String, LeaseLedger.Snapshot> windows, Map<String, LeaseLedger.Snapshot> nextWindows)
      implements CborSerializable {

    public static final State EMPTY = new State(Map.of(), Map.of());

    public State {
      windows = Map.copyOf(windows);
      nextWindows = Map.copyOf(nextWindows == null ? Map.of() : nextWindows);
    }
  }

  /**
   * How leases are cut for windows and for buckets.
   *
   * @param restartBackoff the first and longest pause before the entity reloads after a storage
   *     failure
   */
  public record Settings(
      LeaseLedger.Terms windowTerms, LeaseLedger.Terms bucketTerms, Duration minRestartBackoff, Duration maxRestartBackoff) {

    public static final Settings DEFAULT = new Settings(
        LeaseLedger.Terms.DEFAULT,
        new LeaseLedger.Terms(Duration.ofSeconds(1), Duration.ofMillis(100), 4),
        Duration.ofMillis(200),
        Duration.ofSeconds(5));
  }

  /** Where this entity runs, for the admin API's usage. */
  private final String node;
  private final Settings settings;
  private final Clock clock;
  private final LongSupplier nanoClock;
  /** Opened from the state lazily; dropped on recovery so they follow what is stored. */
  private final Map<String, LeaseLedger> windows = new HashMap<>();
  private final Map<String, LeaseLedger> nextWindows = new HashMap<>();
  /** Next-window books that became current or went stale since the last store. */
  private final java.util.Set<String> droppedNextWindows = new java.util.HashSet<>();
  private final Map<String, RateLeaseLedger> buckets = new HashMap<>();

  private ConsumerQuota(PersistenceId id, String node, Settings settings, Clock clock, LongSupplier nanoClock) {
    super(id, SupervisorStrategy.restartWithBackoff(settings.minRestartBackoff(), settings.maxRestartBackoff(), 0.2));
    this.node = node;
    this.settings = settings;
    this.clock = clock;
    this.nanoClock = nanoClock;
  }

  /** The entity for {@code entityId}, as sharding or a test creates it. */
  public static Behavior<Command> create(String entityId, Settings settings, Clock clock, LongSupplier nanoClock) {
    PersistenceId id = PersistenceId.of(TYPE_KEY.name(), entityId);
    return Behaviors.setup(ctx -> new ConsumerQuota(id, ctx.getSystem().address().toString(), settings, clock, nanoClock));
  }

  /** Starts sharding of the entity on this node; the returned route reaches the entities. */
  public static ShardRoute<Command> initSharding(ActorSystem<?> system, Settings settings) {
    return ShardRoute.start(system,
        Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, Clock.systemUTC(), System::nanoTime))
            .withStopMessage(new Stop()));
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          windows.clear();
          nextWindows.clear();
          droppedNextWindows.clear();
        })
        .build();
  }

  @Override
  public CommandHandler<Command, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Acquire.class, this::onAcquire)
        .onCommand(Release.class, this::onRelease)
        .onCommand(GetUsage.class, (state, get) -> Effect().reply(get.replyTo(), usage(state, get.limits())))
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .build();
  }

  private Effect<State> onAcquire(State state, Acquire acquire) {
    Instant now = clock.instant();
    boolean late = acquire.answerBy() > 0 && now.toEpochMilli() > acquire.answerBy() + LATE_MARGIN.toMillis();
    if (late) {
      LOG.debug("Ask of {} arrived {} ms after its node stopped waiting; granting nothing", acquire.node(),
          now.toEpochMilli() - acquire.answerBy());
    }
    boolean changed = false;
    List<LeaseGrant> grants = new ArrayList<>(acquire.asks().size());
    for (Ask ask : acquire.asks()) {
      if (ask.limit().isBucket()) {
        grants.add(bucketAsk(acquire.node(), late ? withoutWanting(ask) : ask, now));
      } else if (ask.nextWindow()) {
        Instant start = ask.limit().window().end(now);
        boolean due = !late && ask.wanted() > 0 && Duration.between(now, start).compareTo(NEXT_WINDOW_LEAD) <= 0;
        window(state, ask.limit(), now);
        LeaseLedger book = nextWindow(state, ask.limit(), start);
        LeaseLedger.Grant grant = due
            ? book.grant(acquire.node(), ask.wanted(), ask.demandPerSecond(), start)
            : new LeaseLedger.Grant(0, 0, start, book.windowId());
        changed |= grant.tokens() > 0;
        Instant end = ask.limit().window().end(start);
        grants.add(new LeaseGrant(ask.limit().id(), grant.leaseId(), grant.tokens(), start, grant.expiresAt(),
            grant.windowId(), book.remaining(), end, start));
      } else {
        LeaseLedger book = window(state, ask.limit(), now);
        changed |= release(state, book, acquire.node(), ask, now);
        LeaseLedger.Grant grant = ask.wanted() > 0 && !late
            ? book.grant(acquire.node(), ask.wanted(), ask.demandPerSecond(), now)
            : new LeaseLedger.Grant(0, 0, now, book.windowId());
        changed |= grant.tokens() > 0;
        Instant end = ask.limit().window().end(now);
        grants.add(new LeaseGrant(ask.limit().id(), grant.leaseId(), grant.tokens(), now, grant.expiresAt(),
            grant.windowId(), book.remaining(), end, book.remaining() > 0 ? now : end));
      }
    }
    Answer answer = new Answer(grants);
    if (!changed) {
      return Effect().reply(acquire.replyTo(), answer);
    }
    return Effect().persist(snapshot(state)).thenReply(acquire.replyTo(), stored -> answer);
  }

  private Effect<State> onRelease(State state, Release release) {
    Instant now = clock.instant();
    boolean changed = false;
    for (Ask ask : release.asks()) {
      if (ask.limit().isBucket()) {
        bucket(ask.limit()).release(release.node(), ask.releaseLeaseId(), ask.unused(), now);
      } else {
        changed |= release(state, window(state, ask.limit(), now), release.node(), ask, now);
      }
    }
    return changed ? Effect().persist(snapshot(state)) : Effect().none();
  }

  private Usage usage(State state, List<LimitSpec> limits) {
    Instant now = clock.instant();
    List<LimitUsage> usages = new ArrayList<>(limits.size());
    for (LimitSpec limit : limits) {
      if (limit.isBucket()) {
        RateLeaseLedger book = buckets.get(limit.id());
        usages.add(book == null || book.capacity() != limit.burst() || book.requests() != limit.requests()
            // The next ask would start a full bucket.
            ? new LimitUsage(limit.id(), 0, 0, limit.burst(), now)
            : new LimitUsage(limit.id(), 0, book.outstanding(now), book.available(), now.plus(book.untilFull())));
      } else {
        LeaseLedger book = currentBook(state, limit, now);
        Instant end = limit.window().end(now);
        if (book == null) {
          usages.add(new LimitUsage(limit.id(), 0, 0, limit.requests(), end));
        } else {
          LeaseLedger.Usage u = book.usage(now);
          usages.add(new LimitUsage(limit.id(), u.consumed(), u.leasedOut(), u.remaining(), end));
        }
      }
    }
    return new Usage(now, node, usages);
  }

  /**
   * The book that would count {@code now}'s window, as {@link #window} finds it, but read only: no
   * book is opened, swapped in or cached. Null when none has been opened for this window.
   */
  private LeaseLedger currentBook(State state, LimitSpec limit, Instant now) {
    long current = limit.window().id(now);
    LeaseLedger book = peek(windows, state.windows(), limit);
    if (book == null || book.windowId() < current) {
      LeaseLedger next = peek(nextWindows, state.nextWindows(), limit);
      if (next != null && next.windowId() == current) {
        return next;
      }
    }
    return book;
  }

  /** Like {@link #book}, but a book that is not open (or open with another limit) is restored aside, not kept. */
  private LeaseLedger peek(Map<String, LeaseLedger> open, Map<String, LeaseLedger.Snapshot> stored, LimitSpec limit) {
    LeaseLedger book = open.get(limit.id());
    if (book != null && book.limit() == limit.requests()) {
      return book;
    }
    LeaseLedger.Snapshot snapshot = book != null ? book.snapshot() : stored.get(limit.id());
    return snapshot == null ? null
        : LeaseLedger.restore(snapshot, limit.requests(), limit.window(), settings.windowTerms());
  }

  private static Ask withoutWanting(Ask ask) {
    return new Ask(ask.limit(), 0, ask.demandPerSecond(), ask.releaseLeaseId(), ask.releaseWindowId(), ask.unused(),
        ask.nextWindow());
  }

  /** Settles returned tokens in the book of the window they were granted for: this one, or the next. */
  private boolean release(State state, LeaseLedger book, String node, Ask ask, Instant now) {
    if (ask.releaseLeaseId() <= 0) {
      return false;
    }
    book.roll(now);
    if (ask.releaseWindowId() == book.windowId()) {
      book.release(node, ask.releaseLeaseId(), ask.unused(), now);
      return true;
    }
    LeaseLedger next = book(nextWindows, state.nextWindows(), ask.limit(), null);
    if (next != null && next.windowId() == ask.releaseWindowId()) {
      next.release(node, ask.releaseLeaseId(), ask.unused(), now);
      return true;
    }
    return false;
  }

  private LeaseGrant bucketAsk(String node, Ask ask, Instant now) {
    RateLeaseLedger book = bucket(ask.limit());
    if (ask.releaseLeaseId() > 0) {
      book.release(node, ask.releaseLeaseId(), ask.unused(), now);
    }
    LeaseLedger.Grant grant = ask.wanted() > 0
        ? book.grant(node, ask.wanted(), ask.demandPerSecond(), now)
        : new LeaseLedger.Grant(0, 0, now, 0);
    long available = book.available();
    return new LeaseGrant(ask.limit().id(), grant.leaseId(), grant.tokens(), now, grant.expiresAt(), 0, available,
        now.plus(book.untilFull()), now.plus(grant.tokens() > 0 ? Duration.ZERO : book.untilWorthAsking()));
  }

  /**
   * The book of the window containing {@code now}: the one in use, or, once its window is over, the
   * book that granted leases for the new window ahead of its start.
   */
  private LeaseLedger window(State state, LimitSpec limit, Instant now) {
    LeaseLedger book = book(windows, state.windows(), limit, null);
    long current = limit.window().id(now);
    if (book == null || book.windowId() < current) {
      LeaseLedger next = book(nextWindows, state.nextWindows(), limit, null);
      if (next != null && next.windowId() <= current) {
        nextWindows.remove(limit.id());
        droppedNextWindows.add(limit.id());
        if (next.windowId() == current) {
          // Leases of this window were granted ahead of its start: this book counts them.
          windows.put(limit.id(), next);
          return next;
        }
      }
      if (book == null) {
        book = LeaseLedger.open(limit.requests(), limit.window(), settings.windowTerms(), now);
        windows.put(limit.id(), book);
      }
    }
    return book;
  }

  /** The book of the window starting at {@code start}, opened if need be. */
  private LeaseLedger nextWindow(State state, LimitSpec limit, Instant start) {
    LeaseLedger book = book(nextWindows, state.nextWindows(), limit, null);
    if (book == null || book.windowId() != limit.window().id(start)) {
      book = LeaseLedger.open(limit.requests(), limit.window(), settings.windowTerms(), start);
      nextWindows.put(limit.id(), book);
    }
    return book;
  }

  /**
   * A book from those opened in this incarnation, else from the stored state, reopened with the
   * limit's current number of requests; a fresh one at {@code openAt}, or null if that is null.
   */
  private LeaseLedger book(Map<String, LeaseLedger> open, Map<String, LeaseLedger.Snapshot> stored, LimitSpec limit,
      Instant openAt) {
    LeaseLedger book = open.get(limit.id());
    if (book == null || book.limit() != limit.requests()) {
      LeaseLedger.Snapshot snapshot = book != null ? book.snapshot() : stored.get(limit.id());
      if (snapshot == null && openAt == null) {
        return null;
      }
      book = snapshot == null
          ? LeaseLedger.open(limit.requests(), limit.window(), settings.windowTerms(), openAt)
          : LeaseLedger.restore(snapshot, limit.requests(), limit.window(), settings.windowTerms());
      open.put(limit.id(), book);
    }
    return book;
  }

  private RateLeaseLedger bucket(LimitSpec limit) {
    RateLeaseLedger book = buckets.get(limit.id());
    if (book == null || book.capacity() != limit.burst() || book.requests() != limit.requests()) {
      book = new RateLeaseLedger(
          new TokenBucket(limit.burst(), limit.requests(), limit.period(), nanoClock), settings.bucketTerms());
      buckets.put(limit.id(), book);
    }
    return book;
  }

  /** The stored books, with those this incarnation opened as they are now. */
  private State snapshot(State stored) {
    Map<String, LeaseLedger.Snapshot> books = new HashMap<>(stored.windows());
    windows.forEach((id, book) -> books.put(id, book.snapshot()));
    Map<String, LeaseLedger.Snapshot> next = new HashMap<>(stored.nextWindows());
    next.keySet().removeAll(droppedNextWindows);
    nextWindows.forEach((id, book) -> next.put(id, book.snapshot()));
    return new State(books, next);
  }
}
