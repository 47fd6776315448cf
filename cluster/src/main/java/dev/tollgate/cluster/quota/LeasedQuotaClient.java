package dev.tollgate.cluster.quota;

import dev.tollgate.config.OnUnavailable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's side of the quotas: it holds one {@link LocalLease} per limit of every scope it has
 * seen lately, admits from them with atomic operations, and asks the scope's {@link ConsumerQuota}
 * entity for more in the background before they run dry. A request waits for an entity only when
 * its lease is empty (a miss): at the start of a window, and near the end of the budget, where the
 * entity grants one token per ask.
 *
 * <p>When an entity's answer says its budget is spent, the node refuses locally until the window
 * ends or the bucket has a token again (re-asking at most once per {@link Settings#recheckSpent()}).
 * When an entity does not answer twice in a row, the node spends what it holds, then follows the
 * scope's {@code on_unavailable} without making requests wait, and logs that it does; except for a
 * window that the entity's last answer said was spent, which stays refused until it ends. Meanwhile
 * one ask at a time goes on trying the entity in the background, each as soon as the one before
 * failed, at most one per {@link Settings#unavailableBackoff()} counted from the start of the one
 * before (so the first starts at once when the last ask waited out its timeout); the first answer
 * ends the outage. An ask to a shard that is
 * moving waits in its region, so the outage ends as soon as the entity serves again.
 *
 * <p>One missed answer is asked again at once, with a longer timeout ({@link
 * QuotaEntities#acquireAgain}), the waiting requests still waiting: a shard handing off to another
 * node (a rolling restart) or a rebalance buffers the asks meanwhile, and its new home can take
 * longer than one ask's timeout to answer on a busy machine. Leases a node stops using are returned
 * after {@link Settings#idleRelease()}.
 *
 * <p>Thread-safe. {@link #admit} is non-blocking.
 */
public final class LeasedQuotaClient implements QuotaClient, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LeasedQuotaClient.class);
  /**
   * At DEBUG, one line per window limit and closed window: what this node admitted in it. Off by
   * default; the quota accuracy load test turns it on and adds the lines of all nodes up.
   */
  private static final Logger WINDOWS = LoggerFactory.getLogger("dev.tollgate.quota.windows");
  /**
   * At DEBUG, about once a second, this node's decisions so far and how many of them waited for an
   * entity; the quota accuracy load test takes the difference over its measured span.
   */
  private static final Logger DECISIONS = LoggerFactory.getLogger("dev.tollgate.quota.decisions");
  private static final long SECOND = 1_000_000_000L;
  /**
   * "Not until" marks are set this far in the past, not to the setter's clock reading: a request
   * that read the clock a moment before must not find itself inside the mark.
   */
  private static final long LONG_AGO = 3600 * SECOND;
  /** How long before a window ends a busy node asks for its lease of the next one (at most a quarter of the window). */
  private static final Duration NEXT_WINDOW_LEAD = Duration.ofMillis(250);

  /**
   * @param unavailableBackoff during an outage, the least time between the starts of two asks to
   *     the entity (the one that failed last included)
   * @param recheckSpent how long a spent budget is believed before asking the entity again (leases
   *     returned by other nodes may have refilled it)
   * @param idleRelease return a lease not used for this long
   * @param forgetAfter drop a scope not used for this long
   * @param maxAsks how many times one request asks before it is refused (only under heavy
   *     contention at the very end of a budget; four times as many while the entity has tokens left)
   */
  public record Settings(
      Duration unavailableBackoff, Duration recheckSpent, Duration idleRelease, Duration forgetAfter, int maxAsks) {

    public static final Settings DEFAULT =
        new Settings(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofMinutes(2), 8);
  }

  private final QuotaEntities entities;
  private final Settings settings;
  private final Clock clock;
  private final LongSupplier nanoClock;
  private final ConcurrentHashMap<String, ScopeState> scopes = new ConcurrentHashMap<>();
  private final ScheduledExecutorService sweeper;
  private final LongAdder decisions = new LongAdder();
  private final LongAdder remoteDecisions = new LongAdder();
  private final LongAdder localShareDecisions = new LongAdder();
  private final LongAdder leaseGrants = new LongAdder();
  private final LongAdder leasedTokens = new LongAdder();
  /** When the sweeper last logged the decision counts; sweeper thread only. */
  private long lastDecisionsLogNanos;

  public LeasedQuotaClient(QuotaEntities entities, Settings settings, Clock clock, LongSupplier nanoClock) {
    this.entities = Objects.requireNonNull(entities, "entities");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tollgate-quota-sweeper");
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(50, settings.idleRelease().toMillis() / 4);
    sweeper.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
  }

  @Override
  public CompletionStage<Verdict> admit(List<QuotaScope> scopes) {
    if (scopes.isEmpty()) {
      throw new IllegalArgumentException("scopes: none (expected: at least one)");
    }
    CompletionStage<Attempt> result = admit(scopes.get(0), 0, true);
    for (int i = 1; i < scopes.size(); i++) {
      QuotaScope next = scopes.get(i);
      result = result.thenCompose(before -> before.verdict().admitted()
          ? admit(next, 0, true).thenApply(after -> before.and(after))
          : CompletableFuture.completedFuture(before));
    }
    return result.thenApply(this::count);
  }

  private Verdict count(Attempt attempt) {
    Verdict v = attempt.verdict();
    decisions.increment();
    if (v.remote()) {
      remoteDecisions.increment();
    }
    if (v.localShare() && v.admitted()) {
      localShareDecisions.increment();
    }
    return v;
  }

  /**
   * Returns every unused token and waits until the entities have stored the returns (or failed to
   * answer), so that a node leaving the cluster does not take its tokens with it.
   */
  @Override
  public CompletionStage<Void> releaseAll() {
    List<CompletableFuture<?>> stored = new ArrayList<>();
    for (ScopeState s : scopes.values()) {
      List<ConsumerQuota.Ask> returns = drain(s);
      if (!returns.isEmpty()) {
        stored.add(entities.acquire(s.scope.entityId(), returns).toCompletableFuture().exceptionally(failure -> {
          LOG.warn("Quota entity {} did not take back unused tokens: {}", s.scope.entityId(), failure.toString());
          return null;
        }));
      }
    }
    return CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new));
  }

  /**
   * Decisions made so far, how many of them waited for an entity, and how many requests were
   * admitted from this node's local share while an entity was unavailable.
   */
  public record Stats(long decisions, long remote, long localShare, long leaseGrants, long leasedTokens) {}

  /** As {@link Stats}, plus the leases this node was granted (with at least one token) and their tokens. */
  public Stats stats() {
    return new Stats(decisions.sum(), remoteDecisions.sum(), localShareDecisions.sum(), leaseGrants.sum(),
        leasedTokens.sum());
  }

  private void countGrant(ConsumerQuota.LeaseGrant grant) {
    if (grant.tokens() > 0) {
      leaseGrants.increment();
      leasedTokens.add(grant.tokens());
    }
  }

  @Override
  public void close() {
    sweeper.shutdownNow();
    if (WINDOWS.isDebugEnabled()) {
      for (ScopeState s : scopes.values()) {
        for (LimitState l : s.limits) {
          long[] window = l.lease.admittedInWindow();
          if (!l.spec.isBucket() && window[0] != Long.MIN_VALUE) {
            WINDOWS.debug("admitted {} {} {} {}", s.scope.entityId(), l.spec.id(), window[0], window[1]);
          }
        }
      }
    }
  }

  /** How many scopes this node holds leases or state for; for tests and metrics. */
  public int scopeCount() {
    return scopes.size();
  }

  /** A decision on one scope, and how to put its tokens back if a later scope refuses. */
  private record Attempt(Verdict verdict, ScopeState state, long[] generations) {

    Attempt and(Attempt later) {
      if (!later.verdict().admitted()) {
        refund();
      }
      List<Verdict.LimitStatus> limits = new ArrayList<>(verdict.limits());
      limits.addAll(later.verdict().limits());
      Verdict v = later.verdict();
      return new Attempt(new Verdict(v.outcome(), limits, v.limitedBy(), v.retryAfter(),
          verdict.remote() || v.remote(), verdict.localShare() || v.localShare()), later.state(), later.generations());
    }

    void refund() {
      if (generations != null) {
        for (int i = 0; i < generations.length; i++) {
          state.limits[i].lease.refund(generations[i]);
        }
      }
    }
  }

  private CompletionStage<Attempt> admit(QuotaScope scope, int asked, boolean countDemand) {
    ScopeState s = stateFor(scope);
    long now = nanoClock.getAsLong();
    s.lastUsedNanos = now;
    LimitState[] limits = s.limits;
    if (countDemand) {
      for (LimitState l : limits) {
        l.lease.recordDemand();
      }
    }
    for (LimitState l : limits) {
      if (l.nextGrant != null) {
        startNextWindow(s, l, now);
      }
      if (l.spentUntilNanos - now > 0) {
        askNextWindowIfDue(s, now);
        return done(limited(s, l, l.spentUntilNanos - now, now, asked > 0));
      }
    }
    long[] generations = new long[limits.length];
    int taken = 0;
    for (; taken < limits.length; taken++) {
      generations[taken] = limits[taken].lease.generation();
      if (!limits[taken].lease.tryAcquire()) {
        break;
      }
    }
    if (taken == limits.length) {
      if (wantsRenewal(s, now)) {
        ask(s);
      }
      askNextWindowIfDue(s, now);
      return CompletableFuture.completedFuture(new Attempt(admitted(s, now, asked > 0, false), s, generations));
    }
    for (int i = 0; i < taken; i++) {
      limits[i].lease.refund(generations[i]);
    }
    LimitState dry = limits[taken];
    long recheck = settings.recheckSpent().toNanos();
    if (dry.spentAtLastAnswer(now) && now - dry.answeredAtNanos < recheck) {
      // The entity had nothing left for this window at its last answer, lately: the window is spent.
      // Believe it without asking until recheckSpent after that answer (others may give back).
      dry.retryAtNanos = dry.resetAtNanos;
      dry.spentUntilNanos = Math.min(dry.resetAtNanos, dry.answeredAtNanos + recheck);
      askNextWindowIfDue(s, now);
      return done(limited(s, dry, dry.spentUntilNanos - now, now, asked > 0));
    }
    if (s.missedAnswers >= 2) {
      // An outage: requests do not wait for the entity. One ask at a time goes on trying it, and
      // its answer ends the outage at once (an ask to a shard that is moving waits in its region).
      probe(s, now);
      if (dry.spentAtLastAnswer(now)) {
        // Only tokens that other nodes give back could change that: a refusal until the window
        // ends, not an outage (and no local share of a window already spent).
        return done(limited(s, dry, dry.resetAtNanos - now, now, asked > 0));
      }
      return done(unavailable(s, now, asked > 0));
    }
    // A request finds its lease empty again after an answer when other requests took the new
    // tokens first. Near the end of a budget that is contention for the last tokens, and after
    // maxAsks the request is refused; while the entity still has plenty to lend it is only a race
    // on this node, which the next, larger lease settles, so it may ask longer.
    int asks = dry.available > 0 ? settings.maxAsks() * 4 : settings.maxAsks();
    if (asked >= asks) {
      return done(limited(s, limits[taken], SECOND, now, true));
    }
    s.waiting.incrementAndGet();
    return ask(s).handle((ignored, failure) -> {
      s.waiting.decrementAndGet();
      return admit(scope, asked + 1, false);
    }).thenCompose(a -> a);
  }

  private static CompletionStage<Attempt> done(Verdict verdict) {
    return CompletableFuture.completedFuture(new Attempt(verdict, null, null));
  }

  private ScopeState stateFor(QuotaScope scope) {
    String id = scope.entityId();
    ScopeState s = scopes.get(id);
    if (s != null && (s.scope == scope || s.scope.equals(scope))) {
      return s;
    }
    ScopeState fresh = new ScopeState(scope, nanoClock, clock.instant());
    if (s == null) {
      ScopeState raced = scopes.putIfAbsent(id, fresh);
      return raced != null ? raced : fresh;
    }
    // The scope's limits changed (a new config version): start over with new leases.
    if (scopes.replace(id, s, fresh)) {
      release(s);
      return fresh;
    }
    return scopes.getOrDefault(id, fresh);
  }

  private boolean wantsRenewal(ScopeState s, long now) {
    if (s.pending != null) {
      return false;
    }
    for (LimitState l : s.limits) {
      if (l.spentUntilNanos - now <= 0
          && (l.lease.runningLow() || (!l.expiresWithWindow && l.lease.expiresSoon()))) {
        return true;
      }
    }
    return false;
  }

  /** Asks the entity for every limit that needs tokens, unless an ask is already on its way. */
  private CompletionStage<Void> ask(ScopeState s) {
    CompletableFuture<Void> mine;
    List<ConsumerQuota.Ask> asks = new ArrayList<>(s.limits.length);
    synchronized (s) {
      if (s.pending != null) {
        return s.pending;
      }
      long now = nanoClock.getAsLong();
      // Requests waiting now are demand too: after a quiet spell the meter says little, and a lease
      // of one token would serve only one of them.
      long waiting = s.waiting.get();
      for (LimitState l : s.limits) {
        if (l.spentUntilNanos - now <= 0 && (l.lease.remaining() == 0 || l.lease.wantsRenewal())) {
          // Twice the waiting requests: more arrive while the answer is on its way.
          long demand = Math.max(l.lease.demandPerSecond(), 2 * waiting * SECOND / l.horizonNanos);
          asks.add(ConsumerQuota.Ask.grant(l.spec, Math.max(1, demand), demand));
        }
      }
      if (asks.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      mine = new CompletableFuture<>();
      s.pending = mine;
    }
    String id = s.scope.entityId();
    s.askSentNanos = nanoClock.getAsLong();
    CompletionStage<ConsumerQuota.Answer> answered =
        s.missedAnswers > 0 ? entities.acquireAgain(id, asks) : entities.acquire(id, asks);
    answered.whenComplete((answer, failure) -> {
      if (failure == null) {
        apply(s, answer);
      } else {
        becameUnavailable(s, failure);
      }
      synchronized (s) {
        s.pending = null;
      }
      mine.complete(null);
    });
    return mine;
  }

  private void apply(ScopeState s, ConsumerQuota.Answer answer) {
    Instant wallNow = clock.instant();
    long now = nanoClock.getAsLong();
    if (s.missedAnswers >= 2) {
      LOG.info("Quota entity {} answers again, {} ms after the outage began", s.scope.entityId(),
          (now - s.outageSinceNanos) / 1_000_000);
    }
    s.outageAskAtNanos = now - LONG_AGO;
    s.missedAnswers = 0;
    for (ConsumerQuota.LeaseGrant grant : answer.grants()) {
      LimitState l = s.limit(grant.limitId());
      if (l != null) {
        countGrant(grant);
        take(s, l, grant, wallNow, now);
      }
    }
  }

  /** Takes a grant into a limit's lease, unless it is for a window the lease has left behind. */
  private void take(ScopeState s, LimitState l, ConsumerQuota.LeaseGrant grant, Instant wallNow, long now) {
    synchronized (l) {
      if (!l.spec.isBucket() && grant.windowId() < l.lease.windowId()) {
        return;
      }
      LocalLease.ClosedWindow closed = l.lease.acceptCounting(grant.asGrant(), wallNow);
      if (closed != null) {
        // A new window: whatever was spent was the old window's.
        l.spentUntilNanos = now - LONG_AGO;
        l.retryAtNanos = now - LONG_AGO;
        if (WINDOWS.isDebugEnabled()) {
          WINDOWS.debug("admitted {} {} {} {}", s.scope.entityId(), l.spec.id(), closed.windowId(), closed.admitted());
        }
      }
      l.available = grant.available();
      l.answeredAtNanos = now;
      l.resetAtNanos = now + Duration.between(wallNow, grant.resetAt()).toNanos();
      l.expiresWithWindow = !l.spec.isBucket() && !grant.expiresAt().isBefore(grant.resetAt());
      if (grant.tokens() == 0 && grant.available() == 0 && l.lease.remaining() == 0) {
        long retry = Math.max(1_000_000L, Duration.between(wallNow, grant.retryAt()).toNanos());
        l.spentUntilNanos = now + Math.min(retry, settings.recheckSpent().toNanos());
        l.retryAtNanos = now + retry;
      }
    }
  }

  private void askNextWindowIfDue(ScopeState s, long now) {
    for (LimitState l : s.limits) {
      if (l.wantsNextWindow(now)) {
        askNextWindow(s, now);
        return;
      }
    }
  }

  /**
   * Asks, shortly before the current window ends, for leases of the next one, so that requests at
   * the start of the next window need not wait for the entity. At most once per window and limit.
   */
  private void askNextWindow(ScopeState s, long now) {
    List<LimitState> due = null;
    synchronized (s) {
      if (s.pendingNext) {
        return;
      }
      for (LimitState l : s.limits) {
        if (l.wantsNextWindow(now)) {
          l.nextAskedFor = l.resetAtNanos;
          if (due == null) {
            due = new ArrayList<>(s.limits.length);
          }
          due.add(l);
        }
      }
      if (due == null) {
        return;
      }
      s.pendingNext = true;
    }
    List<ConsumerQuota.Ask> asks = new ArrayList<>(due.size());
    for (LimitState l : due) {
      long demand = l.lease.demandPerSecond();
      asks.add(ConsumerQuota.Ask.grantNextWindow(l.spec, Math.max(1, demand), demand));
    }
    entities.acquire(s.scope.entityId(), asks).whenComplete((answer, failure) -> {
      if (failure == null) {
        Instant wallNow = clock.instant();
        long at = nanoClock.getAsLong();
        for (ConsumerQuota.LeaseGrant grant : answer.grants()) {
          LimitState l = s.limit(grant.limitId());
          if (l != null && grant.tokens() > 0) {
            countGrant(grant);
            l.nextValidFromNanos = at + Duration.between(wallNow, grant.validFrom()).toNanos();
            l.nextGrant = grant;
          }
        }
      }
      synchronized (s) {
        s.pendingNext = false;
      }
    });
  }

  /** Once its window has begun, a lease granted ahead of it becomes the lease in use. */
  private void startNextWindow(ScopeState s, LimitState l, long now) {
    ConsumerQuota.LeaseGrant next;
    synchronized (l) {
      next = l.nextGrant;
      if (next == null || now - l.nextValidFromNanos < 0) {
        return;
      }
      l.nextGrant = null;
    }
    take(s, l, next, clock.instant(), now);
  }

  /** During an outage: asks the entity in the background, unless an ask is out or the last began within the backoff. */
  private void probe(ScopeState s, long now) {
    if (now - s.outageAskAtNanos < 0) {
      // The usual case during an outage, without taking the scope's lock.
      return;
    }
    synchronized (s) {
      if (s.pending != null || now - s.outageAskAtNanos < 0) {
        return;
      }
      s.outageAskAtNanos = now + settings.unavailableBackoff().toNanos();
    }
    ask(s);
  }

  private void becameUnavailable(ScopeState s, Throwable failure) {
    long now = nanoClock.getAsLong();
    if (++s.missedAnswers < 2) {
      // Not yet an outage: the requests waiting ask again (see the class comment).
      LOG.debug("Quota entity {} did not answer ({}); asking again", s.scope.entityId(), failure.toString());
      return;
    }
    if (s.missedAnswers == 2) {
      // The outage begins. Asks in the background start one at a time, each as soon as the one
      // before has failed, at most one per backoff counted from the start of the one before: the
      // first at once when the failed ask waited out its timeout (an entity on a crashed node whose
      // shard may already be starting elsewhere), a backoff later when it failed at once.
      s.outageAskAtNanos = s.askSentNanos + settings.unavailableBackoff().toNanos();
      s.outageSinceNanos = now;
      // Once per outage: the count goes back to 0 only with an answer.
      LOG.warn("Quota entity {} did not answer ({}); following on_unavailable: {} once this node's lease is spent",
          s.scope.entityId(), failure.toString(), s.scope.onUnavailable().name().toLowerCase(java.util.Locale.ROOT));
    }
  }

  private Verdict admitted(ScopeState s, long now, boolean remote, boolean localShare) {
    return new Verdict(Verdict.Outcome.ADMITTED, statuses(s, now), null, Duration.ZERO, remote, localShare);
  }

  private Verdict limited(ScopeState s, LimitState l, long retryNanos, long now, boolean remote) {
    long retry = Math.max(retryNanos, l.retryAtNanos - now);
    Verdict.LimitStatus spent = l.status(now).spent();
    List<Verdict.LimitStatus> statuses = statuses(s, now);
    statuses.replaceAll(status -> status.name().equals(spent.name()) ? spent : status);
    return new Verdict(Verdict.Outcome.LIMITED, statuses, spent, Duration.ofNanos(Math.max(0, retry)), remote, false);
  }

  private Verdict unavailable(ScopeState s, long now, boolean remote) {
    if (s.scope.onUnavailable() == OnUnavailable.DENY) {
      // Until the next ask to the entity; one is out already when that time has passed.
      long retry = s.outageAskAtNanos - now;
      return new Verdict(Verdict.Outcome.UNAVAILABLE, statuses(s, now), s.limits[0].status(now),
          Duration.ofNanos(retry > 0 ? retry : settings.unavailableBackoff().toNanos()), remote, false);
    }
    int nodes = entities.reachableNodes();
    Instant wallNow = clock.instant();
    synchronized (s) {
      for (LimitState l : s.limits) {
        if (!l.share(nodes, wallNow, nanoClock).canTake(wallNow)) {
          return new Verdict(Verdict.Outcome.LIMITED, statuses(s, now), l.status(now).spent(),
              l.share(nodes, wallNow, nanoClock).retryAfter(wallNow), remote, true);
        }
      }
      for (LimitState l : s.limits) {
        l.share(nodes, wallNow, nanoClock).take();
      }
    }
    return admitted(s, now, remote, true);
  }

  private static List<Verdict.LimitStatus> statuses(ScopeState s, long now) {
    List<Verdict.LimitStatus> statuses = new ArrayList<>(s.limits.length);
    for (LimitState l : s.limits) {
      statuses.add(l.status(now));
    }
    return statuses;
  }

  private void sweep() {
    try {
      long now = nanoClock.getAsLong();
      if (DECISIONS.isDebugEnabled() && now - lastDecisionsLogNanos >= SECOND) {
        lastDecisionsLogNanos = now;
        DECISIONS.debug("decisions {} waited {} local-share {}", decisions.sum(), remoteDecisions.sum(),
            localShareDecisions.sum());
      }
      long idle = settings.idleRelease().toNanos();
      long forget = settings.forgetAfter().toNanos();
      for (ScopeState s : scopes.values()) {
        long unused = now - s.lastUsedNanos;
        if (unused > forget) {
          scopes.remove(s.scope.entityId(), s);
          release(s);
        } else if (unused > idle) {
          release(s);
        }
      }
    } catch (RuntimeException e) {
      LOG.error("Quota lease sweep failed", e);
    }
  }

  /** Returns every unused token of the scope's leases to its entity. */
  private void release(ScopeState s) {
    List<ConsumerQuota.Ask> returns = drain(s);
    if (!returns.isEmpty()) {
      entities.release(s.scope.entityId(), returns);
    }
  }

  private List<ConsumerQuota.Ask> drain(ScopeState s) {
    List<ConsumerQuota.Ask> returns = new ArrayList<>();
    long now = nanoClock.getAsLong();
    for (LimitState l : s.limits) {
      startNextWindow(s, l, now);
      ConsumerQuota.LeaseGrant ahead;
      synchronized (l) {
        ahead = l.nextGrant;
        l.nextGrant = null;
      }
      if (ahead != null) {
        returns.add(ConsumerQuota.Ask.releaseAll(l.spec, ahead));
      }
      if (l.lease.remaining() > 0) {
        LocalLease.Unused unused = l.lease.drainUnused();
        if (unused.tokens() > 0 && unused.leaseId() > 0) {
          returns.add(ConsumerQuota.Ask.release(l.spec, unused));
          synchronized (l) {
            // The entity has these back: a last answer of "nothing left" no longer means spent.
            l.available += unused.tokens();
          }
        }
      }
    }
    return returns;
  }

  /** What this node holds for one scope. */
  private static final class ScopeState {
    final QuotaScope scope;
    final LimitState[] limits;
    volatile long lastUsedNanos;
    /** During an outage, when the next ask in the background may start (and what Retry-After says). */
    volatile long outageAskAtNanos;
    /** Asks in a row the entity did not answer; 0 after an answer. Written by one ask at a time. */
    volatile int missedAnswers;
    /** When the second of the missed answers failed: the outage began. */
    volatile long outageSinceNanos;
    /** When the last ask to the entity was sent. Written by one ask at a time. */
    volatile long askSentNanos;
    /** The ask on its way, if any; guarded by this. */
    CompletableFuture<Void> pending;
    /** Whether an ask for next-window leases is on its way; guarded by this. */
    boolean pendingNext;
    /** Requests waiting for an ask's answer. */
    final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();

    ScopeState(QuotaScope scope, LongSupplier nanoClock, Instant wallNow) {
      this.scope = scope;
      this.limits = new LimitState[scope.limits().size()];
      long now = nanoClock.getAsLong();
      for (int i = 0; i < limits.length; i++) {
        limits[i] = new LimitState(scope.limits().get(i), scope.names().get(i), nanoClock, now, wallNow);
      }
      this.lastUsedNanos = now;
      this.outageAskAtNanos = now - LONG_AGO;
    }

    LimitState limit(String id) {
      for (LimitState l : limits) {
        if (l.spec.id().equals(id)) {
          return l;
        }
      }
      return null;
    }
  }

  /** What this node holds for one limit of a scope. */
  private static final class LimitState {
    final LimitSpec spec;
    final String name;
    final LocalLease lease;
    final long windowSeconds;
    /** Until then the entity's budget is believed spent: refuse without asking. */
    volatile long spentUntilNanos;
    volatile long retryAtNanos;
    volatile long available;
    /** When the entity last answered for this limit. */
    volatile long answeredAtNanos;
    volatile long resetAtNanos;
    volatile boolean expiresWithWindow;
    /** This node's share while the entity is unavailable; guarded by the scope state. */
    LocalShare share;
    /** A lease of the next window, granted ahead of it, and when it may be used. */
    volatile ConsumerQuota.LeaseGrant nextGrant;
    volatile long nextValidFromNanos;
    /** The window end for which next-window leases were last asked; one ask per window. */
    volatile long nextAskedFor;
    final long nextWindowLeadNanos;
    /** How much demand a lease covers: the entity's renewal horizon for this kind of limit. */
    final long horizonNanos;

    LimitState(LimitSpec spec, String name, LongSupplier nanoClock, long now, Instant wallNow) {
      this.spec = spec;
      this.name = name;
      // A bucket's leases live one second: renew a quarter of a second ahead, not the default second.
      this.lease = spec.isBucket()
          ? new LocalLease(nanoClock, 0.3, Duration.ofMillis(250), Duration.ofSeconds(1))
          : new LocalLease(nanoClock);
      CalendarWindow window = spec.window();
      this.windowSeconds = Duration.between(window.start(wallNow), window.end(wallNow)).getSeconds();
      this.spentUntilNanos = now - LONG_AGO;
      this.retryAtNanos = now - LONG_AGO;
      this.resetAtNanos = now;
      this.available = spec.isBucket() ? spec.burst() : spec.requests();
      this.nextWindowLeadNanos = Math.min(NEXT_WINDOW_LEAD.toNanos(), windowSeconds * SECOND / 4);
      this.horizonNanos = (spec.isBucket() ? ConsumerQuota.Settings.DEFAULT.bucketTerms() : ConsumerQuota.Settings.DEFAULT.windowTerms())
          .renewalHorizon().toNanos();
    }

    /**
     * Whether the entity's last answer said this window had nothing left (tokens this node returned
     * since count as left again), and the window has not ended.
     */
    boolean spentAtLastAnswer(long now) {
      return !spec.isBucket() && available == 0 && resetAtNanos - now > 0;
    }

    /** Whether to ask for the next window's lease now: its start is near, and none is held or asked for. */
    boolean wantsNextWindow(long now) {
      if (spec.isBucket() || nextGrant != null || nextAskedFor == resetAtNanos || lease.windowId() == Long.MIN_VALUE) {
        return false;
      }
      long untilEnd = resetAtNanos - now;
      return untilEnd > 0 && untilEnd <= nextWindowLeadNanos;
    }

    Verdict.LimitStatus status(long now) {
      long reset = Math.max(0, resetAtNanos - now);
      return new Verdict.LimitStatus(name, spec.requests(), windowSeconds, lease.remaining() + available,
          (reset + SECOND - 1) / SECOND);
    }

    LocalShare share(int nodes, Instant now, LongSupplier nanoClock) {
      if (share == null || share.nodes != nodes) {
        share = new LocalShare(spec, nodes, now, nanoClock, share);
      }
      return share;
    }
  }

  /** Limit ÷ reachable nodes, counted on this node alone while the entity is unavailable. */
  private static final class LocalShare {
    final int nodes;
    final LimitSpec spec;
    final TokenBucket bucket;
    final CalendarWindow window;
    final long share;
    long windowId;
    long used;

    LocalShare(LimitSpec spec, int nodes, Instant now, LongSupplier nanoClock, LocalShare before) {
      this.nodes = nodes;
      this.spec = spec;
      if (spec.isBucket()) {
        this.window = null;
        this.share = Math.max(1, spec.burst() / nodes);
        this.bucket = new TokenBucket(share, Math.max(1, spec.requests() / nodes), spec.period(), nanoClock);
      } else {
        this.window = spec.window();
        this.share = Math.max(1, spec.requests() / nodes);
        this.bucket = null;
        this.windowId = window.id(now);
        // Keep counting the window already under way when the number of reachable nodes changes.
        this.used = before != null && before.windowId == windowId ? before.used : 0;
      }
    }

    boolean canTake(Instant now) {
      if (bucket != null) {
        return bucket.available() > 0;
      }
      roll(now);
      return used < share;
    }

    void take() {
      if (bucket != null) {
        bucket.take(1);
      } else {
        used++;
      }
    }

    Duration retryAfter(Instant now) {
      return bucket != null ? bucket.timeUntil(1) : Duration.between(now, window.end(now));
    }

    private void roll(Instant now) {
      long id = window.id(now);
      if (id != windowId) {
        windowId = id;
        used = 0;
      }
    }
  }
}
