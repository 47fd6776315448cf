package dev.tollgate.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.state.javadsl.DurableStateBehavior;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Events and durable state written by one actor system are there for the next, on a real H2 file
 * and a real PostgreSQL, serialized as CBOR.
 */
class DurableStoreTest {

  /** Commands and events of a tiny event-sourced counter. */
  sealed interface CounterCommand extends CborSerializable {}

  record Add(int amount, ActorRef<Integer> replyTo) implements CounterCommand {}

  record Get(ActorRef<Integer> replyTo) implements CounterCommand {}

  record Added(int amount) implements CborSerializable {}

  record Total(int value) implements CborSerializable {}

  static final class Counter extends EventSourcedBehavior<CounterCommand, Added, Total> {
    Counter(String id) {
      super(PersistenceId.ofUniqueId(id));
    }

    @Override
    public Total emptyState() {
      return new Total(0);
    }

    @Override
    public CommandHandler<CounterCommand, Added, Total> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(Add.class, (state, add) -> Effect().persist(new Added(add.amount()))
              .thenRun(next -> add.replyTo().tell(next.value())))
          .onCommand(Get.class, (state, get) -> Effect().none().thenRun(s -> get.replyTo().tell(s.value())))
          .build();
    }

    @Override
    public EventHandler<Total, Added> eventHandler() {
      return newEventHandlerBuilder().forAnyState()
          .onEvent(Added.class, (state, e) -> new Total(state.value() + e.amount()))
          .build();
    }
  }

  /** A durable-state tally: the state is stored whole on every change, as quota windows will be. */
  static final class Tally extends DurableStateBehavior<CounterCommand, Total> {
    Tally(String id) {
      super(PersistenceId.ofUniqueId(id));
    }

    @Override
    public Total emptyState() {
      return new Total(0);
    }

    @Override
    public org.apache.pekko.persistence.typed.state.javadsl.CommandHandler<CounterCommand, Total> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(Add.class, (state, add) -> Effect().persist(new Total(state.value() + add.amount()))
              .thenRun(next -> add.replyTo().tell(next.value())))
          .onCommand(Get.class, (state, get) -> Effect().none().thenRun(s -> get.replyTo().tell(s.value())))
          .build();
    }
  }

  static EmbeddedPostgres postgres;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.start();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  @TempDir
  static Path dataDir;

  static Stream<Arguments> databases() {
    return Stream.of(
        Arguments.of("H2 file", Database.h2(dataDir)),
        Arguments.of("PostgreSQL", Database.postgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres")));
  }

  static ActorTestKit system(Database database) {
    Config config = database.pekkoConfig(4)
        .withFallback(ConfigFactory.parseString("pekko.loglevel = WARNING"))
        .withFallback(ConfigFactory.load());
    return ActorTestKit.create("store", config);
  }

  int ask(ActorTestKit kit, ActorRef<CounterCommand> ref, java.util.function.Function<ActorRef<Integer>, CounterCommand> command) {
    TestProbe<Integer> probe = kit.createTestProbe();
    ref.tell(command.apply(probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(15));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("databases")
  void eventsAndDurableStateSurviveARestartOfTheActorSystem(String name, Database database) throws Exception {
    DatabaseSchema.create(database);
    DatabaseSchema.create(database); // idempotent: a restarted node runs it again
    String id = "restart-" + name.replace(' ', '-') + "-" + System.nanoTime();

    ActorTestKit first = system(database);
    try {
      ActorRef<CounterCommand> counter = first.spawn(new Counter("counter-" + id));
      ActorRef<CounterCommand> tally = first.spawn(Behavior.class.cast(new Tally("tally-" + id)));
      for (int i = 1; i <= 3; i++) {
        int amount = i * 300;
        assertThat(ask(first, counter, r -> new Add(amount, r))).isPositive();
        assertThat(ask(first, tally, r -> new Add(amount, r))).isPositive();
      }
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = system(database);
    try {
      ActorRef<CounterCommand> counter = second.spawn(new Counter("counter-" + id));
      ActorRef<CounterCommand> tally = second.spawn(Behavior.class.cast(new Tally("tally-" + id)));
      assertThat(ask(second, counter, Get::new)).isEqualTo(1800);
      assertThat(ask(second, tally, Get::new)).isEqualTo(1800);
    } finally {
      second.shutdownTestKit();
    }
  }

  @Test
  void nodesStartingTogetherCreateThePostgresSchemaWithoutRacing() throws Exception {
    EmbeddedPostgres fresh = EmbeddedPostgres.start();
    try {
      Database database = Database.postgres(fresh.getJdbcUrl("postgres", "postgres"), "postgres", "postgres");
      List<CompletableFuture<Void>> nodes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        nodes.add(CompletableFuture.runAsync(() -> {
          try {
            DatabaseSchema.create(database);
          } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
          }
        }));
      }
      CompletableFuture.allOf(nodes.toArray(CompletableFuture[]::new)).get();
      try (var c = java.sql.DriverManager.getConnection(database.url(), "postgres", "postgres");
          var rs = c.createStatement().executeQuery(
              "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('event_journal','event_tag','snapshot','durable_state')")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(4);
      }
    } finally {
      fresh.close();
    }
  }
}
