package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.quota.ConsumerQuota.Acquire;
import dev.tollgate.cluster.quota.ConsumerQuota.Answer;
import dev.tollgate.cluster.quota.ConsumerQuota.Ask;
import dev.tollgate.cluster.quota.ConsumerQuota.LeaseGrant;
import dev.tollgate.persistence.Database;
import dev.tollgate.persistence.DatabaseSchema;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The entity on a real H2 file and a real PostgreSQL, every message through CBOR: leases are cut
 * from the budget, stored per grant, and a restarted entity still counts what was spent and what is
 * leased out.
 */
class ConsumerQuotaTest {

  static final LimitSpec DAILY = new LimitSpec("window/86400s", 1000, "day", 0);
  static final LimitSpec BUCKET = new LimitSpec("bucket/1s", 5, "1s", 10);

  static EmbeddedPostgres postgres;

  @TempDir
  static Path dataDir;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.start();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  static Stream<Arguments> databases() {
    return Stream.of(
        Arguments.of("H2 file", Database.h2(dataDir)),
        Arguments.of("PostgreSQL", Database.postgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres")));
  }

  /** A wall clock and a nanos clock that move only when told. */
  static final class TestClock extends Clock {
    final AtomicLong nanos = new AtomicLong();
    final Instant start = Instant.parse("2026-11-22T10:00:00Z");

    void advance(Duration d) {
      nanos.addAndGet(d.toNanos());
    }

    @Override
    public Instant instant() {
      return start.plusNanos(nanos.get());
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  static ActorTestKit system(Database database) throws Exception {
    DatabaseSchema.create(database);
    Config config = database.pekkoConfig(4)
        // Every message goes through its serializer, as it would between nodes.
        .withFallback(ConfigFactory.parseString("pekko.actor.serialize-messages = on\npekko.loglevel = WARNING"))
        .withFallback(ConfigFactory.load());
    return ActorTestKit.create("quota", config);
  }

  final TestClock clock = new TestClock();

  ActorRef<ConsumerQuota.Command> spawn(ActorTestKit kit, String id) {
    return kit.spawn(ConsumerQuota.create(id, ConsumerQuota.Settings.DEFAULT, clock, clock.nanos::get));
  }

  static LeaseGrant acquire(ActorTestKit kit, ActorRef<ConsumerQuota.Command> entity, String node, Ask ask) {
    TestProbe<Answer> probe = kit.createTestProbe();
    entity.tell(new Acquire(node, List.of(ask), probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(15)).grants().get(0);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void aRestartedEntityKeepsTheDaysUsageAndTheLeasesOutstanding(String name, Database database) throws Exception {
    String id = "c:acme-" + System.nanoTime();
    ActorTestKit first = system(database);
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(first, id);
      long granted = 0;
      long releasedUpTo = 0;
      // Node a spends 900 in leases of 100 and returns nothing unused.
      while (granted < 900) {
        LeaseGrant grant = acquire(first, entity, "a", Ask.grant(DAILY, 100, 400));
        assertThat(grant.tokens()).isEqualTo(100);
        granted += grant.tokens();
        releasedUpTo = grant.leaseId();
      }
      acquire(first, entity, "a", new Ask(DAILY, 0, 0, releasedUpTo, ahead(clock.instant()), 0, false));
      // Node b holds a lease of 40 when everything stops.
      LeaseGrant held = acquire(first, entity, "b", Ask.grant(DAILY, 40, 160));
      assertThat(held.tokens()).isEqualTo(40);
      assertThat(held.available()).isEqualTo(60);
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = system(database);
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(second, id);
      long more = 0;
      for (int i = 0; i < 200; i++) {
        more += acquire(second, entity, "c", Ask.grant(DAILY, 1000, 100_000)).tokens();
      }
      assertThat(more).as("900 spent and 40 leased out of 1000").isEqualTo(60);
      // b returns 30 of its 40: they can be granted again.
      acquire(second, entity, "b", new Ask(DAILY, 0, 0, 10_000, clock.instant().getEpochSecond() / 86400, 30, false));
      assertThat(acquire(second, entity, "c", Ask.grant(DAILY, 1000, 100_000)).tokens()).isEqualTo(30);
    } finally {
      second.shutdownTestKit();
    }
  }

  @Test
  void leasesAreSizedByDemandAndTheEndOfTheDayIsSharedByTheNodesHoldingLeases() throws Exception {
    ActorTestKit kit = system(Database.h2(dataDir));
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(kit, "c:sizing");
      LeaseGrant first = acquire(kit, entity, "a", Ask.grant(DAILY, 1000, 40));
      assertThat(first.tokens()).as("250 ms of 40 requests per second").isEqualTo(10);
      assertThat(first.expiresAt()).isEqualTo(clock.instant().plusSeconds(5));
      assertThat(first.resetAt()).isEqualTo(Instant.parse("2026-11-23T00:00:00Z"));
      List<Long> grants = new java.util.ArrayList<>();
      for (int i = 0; i < 10; i++) {
        grants.add(acquire(kit, entity, i % 2 == 0 ? "a" : "b", Ask.grant(DAILY, 1000, 1600)).tokens());
      }
      // 250 ms of 1,600/s is 400; once a holds a lease, b's is at most half of what remains, and so on.
      assertThat(grants).as("400, then half of what remains each, down to one token")
          .containsExactly(400L, 295L, 147L, 74L, 37L, 18L, 9L, 5L, 2L, 1L);
      long rest = 0;
      for (int i = 0; i < 10; i++) {
        rest += acquire(kit, entity, i % 2 == 0 ? "a" : "b", Ask.grant(DAILY, 1000, 1600)).tokens();
      }
      assertThat(rest).as("the last 2").isEqualTo(2);
      LeaseGrant none = acquire(kit, entity, "a", Ask.grant(DAILY, 1000, 2000));
      assertThat(none.tokens()).isZero();
      assertThat(none.available()).isZero();
      assertThat(none.retryAt()).as("spent until the day ends").isEqualTo(Instant.parse("2026-11-23T00:00:00Z"));
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * Two live copies of one entity, as the two sides of a network partition could run for a moment
   * before one side is downed: each grant is stored with the revision after the one its copy last
   * read, and the store refuses a revision already written, so the stale copy's grant fails
   * unanswered and the copy restarts from what the other stored. Between them they never lend more
   * than the limit. This is why a shorter {@code down-removal-margin} cannot over-admit a quota.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void twoCopiesOfAnEntityNeverLendMoreThanTheLimitBetweenThem(String name, Database database) throws Exception {
    String id = "c:twin-" + System.nanoTime();
    ActorTestKit left = system(database);
    ActorTestKit right = system(database);
    try {
      List<ActorRef<ConsumerQuota.Command>> copies = List.of(spawn(left, id), spawn(right, id));
      List<ActorTestKit> kits = List.of(left, right);
      for (int i = 0; i < 2; i++) {
        // Both have read the stored state (none yet) before either grants.
        TestProbe<ConsumerQuota.Usage> read = kits.get(i).createTestProbe();
        copies.get(i).tell(new ConsumerQuota.GetUsage(List.of(DAILY), read.getRef()));
        assertThat(read.receiveMessage(Duration.ofSeconds(15)).limits().get(0).remaining()).isEqualTo(1000);
      }
      long lent = 0;
      List<TestProbe<Answer>> waiting = new java.util.ArrayList<>();
      int asks = 0;
      for (; asks < 60 && (asks < 10 || lent < 1000); asks++) {
        int side = asks % 2;
        TestProbe<Answer> probe = kits.get(side).createTestProbe();
        copies.get(side).tell(new Acquire(side == 0 ? "a" : "b", List.of(Ask.grant(DAILY, 100, 400)), probe.getRef()));
        try {
          lent += probe.receiveMessage(Duration.ofSeconds(3)).grants().get(0).tokens();
        } catch (AssertionError timedOut) {
          // The copy's write was refused (its node would ask again), or the answer is only late.
          waiting.add(probe);
        }
      }
      // A late answer still lent its tokens: count it.
      int unanswered = 0;
      for (TestProbe<Answer> probe : waiting) {
        try {
          lent += probe.receiveMessage(Duration.ofMillis(200)).grants().get(0).tokens();
        } catch (AssertionError none) {
          unanswered++;
        }
      }
      System.out.printf("two copies: %d tokens lent in %d asks, %d unanswered%n", lent, asks, unanswered);
      assertThat(unanswered).as("the stale copy's grants were refused").isPositive();
      assertThat(lent).as("never more than the limit, and all of it in the end").isEqualTo(1000);
    } finally {
      left.shutdownTestKit();
      right.shutdownTestKit();
    }
  }

  @Test
  void anExpiredLeaseStaysSpentAndTheNextWindowStartsFull() throws Exception {
    ActorTestKit kit = system(Database.h2(dataDir));
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(kit, "c:expiry");
      assertThat(acquire(kit, entity, "a", Ask.grant(DAILY, 500, 2000)).tokens()).isEqualTo(500);
      clock.advance(Duration.ofSeconds(6));
      // a died holding 500: they are not given back.
      assertThat(acquire(kit, entity, "b", Ask.grant(DAILY, 1000, 100_000)).tokens()).isEqualTo(500);
      clock.advance(Duration.ofDays(1));
      assertThat(acquire(kit, entity, "b", Ask.grant(DAILY, 1000, 100_000)).tokens()).isEqualTo(1000);
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void bucketsLendFromTheBurstAndSayWhenATokenIsBack() throws Exception {
    ActorTestKit kit = system(Database.h2(dataDir));
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(kit, "c:bucket");
      LeaseGrant first = acquire(kit, entity, "a", Ask.grant(BUCKET, 100, 1_000_000));
      assertThat(first.tokens()).isEqualTo(10);
      LeaseGrant none = acquire(kit, entity, "a", Ask.grant(BUCKET, 100, 1_000_000));
      assertThat(none.tokens()).isZero();
      assertThat(Duration.between(clock.instant(), none.retryAt()))
          .as("until 4 tokens are back: a lease worth asking for").isEqualTo(Duration.ofMillis(800));
      assertThat(Duration.between(clock.instant(), none.resetAt())).isEqualTo(Duration.ofSeconds(2));
      clock.advance(Duration.ofMillis(600));
      assertThat(acquire(kit, entity, "a", Ask.grant(BUCKET, 100, 1_000_000)).tokens()).as("3 tokens back").isEqualTo(3);
      clock.advance(Duration.ofMillis(1000));
      assertThat(acquire(kit, entity, "a", Ask.grant(BUCKET, 100, 1_000_000)).tokens()).isEqualTo(5);
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void anAskArrivingAfterItsNodeStoppedWaitingIsGrantedNothing() throws Exception {
    ActorTestKit kit = system(Database.h2(dataDir));
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(kit, "c:late");
      TestProbe<Answer> probe = kit.createTestProbe();
      long gaveUp = clock.instant().minusSeconds(2).toEpochMilli();
      entity.tell(new Acquire("a", List.of(Ask.grant(DAILY, 100, 400)), gaveUp, probe.getRef()));
      LeaseGrant late = probe.receiveMessage(Duration.ofSeconds(15)).grants().get(0);
      assertThat(late.tokens()).isZero();
      assertThat(late.available()).isEqualTo(1000);
      long waiting = clock.instant().plusMillis(500).toEpochMilli();
      entity.tell(new Acquire("a", List.of(Ask.grant(DAILY, 100, 400)), waiting, probe.getRef()));
      assertThat(probe.receiveMessage(Duration.ofSeconds(15)).grants().get(0).tokens()).isEqualTo(100);
    } finally {
      kit.shutdownTestKit();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void leasesOfTheNextWindowAreGrantedJustAheadOfItAndCountInItEvenAfterARestart(String name, Database database)
      throws Exception {
    String id = "c:ahead-" + System.nanoTime();
    clock.advance(Duration.between(clock.start, Instant.parse("2026-11-22T23:59:58Z")));
    ActorTestKit first = system(database);
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(first, id);
      assertThat(acquire(first, entity, "a", Ask.grant(DAILY, 300, 1_000_000)).tokens()).isEqualTo(300);
      assertThat(acquire(first, entity, "a", Ask.grantNextWindow(DAILY, 100, 400)).tokens())
          .as("two seconds ahead is too early").isZero();
      clock.advance(Duration.ofMillis(1500));
      LeaseGrant ahead = acquire(first, entity, "a", Ask.grantNextWindow(DAILY, 100, 400));
      assertThat(ahead.tokens()).isEqualTo(100);
      assertThat(ahead.validFrom()).isEqualTo(Instant.parse("2026-11-23T00:00:00Z"));
      assertThat(ahead.expiresAt()).isEqualTo(Instant.parse("2026-11-23T00:00:05Z"));
      assertThat(ahead.available()).as("of the next day").isEqualTo(900);
      assertThat(acquire(first, entity, "b", Ask.grantNextWindow(DAILY, 50, 200)).tokens()).isEqualTo(50);
      // b gives its lease back before the day starts.
      LeaseGrant back = acquire(first, entity, "b", Ask.grantNextWindow(DAILY, 1, 4));
      acquire(first, entity, "b", new Ask(DAILY, 0, 0, back.leaseId(), back.windowId(), 51, false));
      assertThat(acquire(first, entity, "a", Ask.grant(DAILY, 1000, 1_000_000)).tokens())
          .as("today is unaffected").isEqualTo(700);
    } finally {
      first.shutdownTestKit();
    }
    clock.advance(Duration.ofSeconds(1));
    ActorTestKit second = system(database);
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(second, id);
      LeaseGrant today = acquire(second, entity, "a", Ask.grant(DAILY, 10_000, 1_000_000));
      assertThat(today.windowId()).isEqualTo(ahead(clock.instant()));
      assertThat(today.tokens()).as("a's 100 granted ahead still count").isEqualTo(900);
    } finally {
      second.shutdownTestKit();
    }
  }

  static long ahead(Instant now) {
    return now.getEpochSecond() / 86400;
  }

  @Test
  void raisingTheLimitKeepsWhatWasSpent() throws Exception {
    ActorTestKit kit = system(Database.h2(dataDir));
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(kit, "c:raise");
      assertThat(acquire(kit, entity, "a", Ask.grant(DAILY, 1000, 100_000)).tokens()).isEqualTo(1000);
      LimitSpec raised = new LimitSpec(DAILY.id(), 1500, "day", 0);
      LeaseGrant more = acquire(kit, entity, "a", Ask.grant(raised, 1000, 100_000));
      assertThat(more.tokens()).isEqualTo(500);
    } finally {
      kit.shutdownTestKit();
    }
  }

  static ConsumerQuota.Usage usage(ActorTestKit kit, ActorRef<ConsumerQuota.Command> entity, LimitSpec... limits) {
    TestProbe<ConsumerQuota.Usage> probe = kit.createTestProbe();
    entity.tell(new ConsumerQuota.GetUsage(List.of(limits), probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(15));
  }

  /** The revision of the entity's stored state: it moves with every store. */
  static long revision(ActorTestKit kit, String id) {
    @SuppressWarnings("unchecked")
    org.apache.pekko.persistence.state.javadsl.DurableStateStore<Object> store =
        org.apache.pekko.persistence.state.DurableStateStoreRegistry.get(kit.system())
            .getDurableStateStoreFor(org.apache.pekko.persistence.state.javadsl.DurableStateStore.class,
                "jdbc-durable-state-store");
    return store.getObject("ConsumerQuota|" + id).toCompletableFuture().join().revision();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void usageReadsWhatIsConsumedLeasedOutAndLeftWithoutChangingOrStoringAnything(String name, Database database)
      throws Exception {
    String id = "c:usage-" + System.nanoTime();
    Instant midnight = Instant.parse("2026-11-23T00:00:00Z");
    ActorTestKit kit = system(database);
    try {
      ActorRef<ConsumerQuota.Command> entity = spawn(kit, id);
      ConsumerQuota.Usage fresh = usage(kit, entity, DAILY, BUCKET);
      assertThat(fresh.asOf()).isEqualTo(clock.instant());
      assertThat(fresh.limits()).containsExactly(
          new ConsumerQuota.LimitUsage(DAILY.id(), 0, 0, 1000, midnight),
          new ConsumerQuota.LimitUsage(BUCKET.id(), 0, 0, 10, clock.instant()));
      assertThat(revision(kit, id)).as("reading stored nothing").isZero();

      LeaseGrant a = acquire(kit, entity, "a", Ask.grant(DAILY, 100, 400));
      LeaseGrant b = acquire(kit, entity, "b", Ask.grant(DAILY, 40, 160));
      // a used 70 of its 100 and gives 30 back.
      acquire(kit, entity, "a", new Ask(DAILY, 0, 0, a.leaseId(), a.windowId(), 30, false));
      LeaseGrant bucket = acquire(kit, entity, "a", Ask.grant(BUCKET, 100, 1_000_000));
      assertThat(bucket.tokens()).isEqualTo(10);
      long stored = revision(kit, id);
      assertThat(stored).isPositive();

      for (int i = 0; i < 3; i++) {
        assertThat(usage(kit, entity, DAILY, BUCKET).limits()).as("read %d", i).containsExactly(
            new ConsumerQuota.LimitUsage(DAILY.id(), 70, 40, 890, midnight),
            new ConsumerQuota.LimitUsage(BUCKET.id(), 0, 10, 0, clock.instant().plusSeconds(2)));
      }
      clock.advance(Duration.ofMillis(600));
      assertThat(usage(kit, entity, BUCKET).limits().get(0))
          .as("3 tokens back in the bucket; the lease still held")
          .isEqualTo(new ConsumerQuota.LimitUsage(BUCKET.id(), 0, 10, 3, clock.instant().plusMillis(1400)));
      clock.advance(Duration.ofSeconds(6));
      assertThat(usage(kit, entity, DAILY).limits().get(0))
          .as("b's lease expired holding 40: they stay spent")
          .isEqualTo(new ConsumerQuota.LimitUsage(DAILY.id(), 110, 0, 890, midnight));
      assertThat(usage(kit, entity, BUCKET).limits().get(0)).as("full again, the lease expired")
          .isEqualTo(new ConsumerQuota.LimitUsage(BUCKET.id(), 0, 0, 10, clock.instant()));
      assertThat(revision(kit, id)).as("reads stored nothing").isEqualTo(stored);
      assertThat(usage(kit, entity, new LimitSpec(DAILY.id(), 2000, "day", 0)).limits().get(0).remaining())
          .as("a raised limit reads with what was spent").isEqualTo(1890);

      // The reads granted nothing: the whole rest is there to grant, once.
      assertThat(acquire(kit, entity, "c", Ask.grant(DAILY, 1000, 1_000_000)).tokens()).isEqualTo(890);
      assertThat(usage(kit, entity, DAILY).limits().get(0))
          .isEqualTo(new ConsumerQuota.LimitUsage(DAILY.id(), 110, 890, 0, midnight));
      clock.advance(Duration.ofDays(1));
      assertThat(usage(kit, entity, DAILY).limits().get(0)).as("a new day")
          .isEqualTo(new ConsumerQuota.LimitUsage(DAILY.id(), 0, 0, 1000, midnight.plus(Duration.ofDays(1))));
      assertThat(b.tokens()).isEqualTo(40);
    } finally {
      kit.shutdownTestKit();
    }
  }
}
