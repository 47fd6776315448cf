package dev.tollgate.cluster.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.ClusterMembership;
import dev.tollgate.cluster.config.ConfigStore.Applied;
import dev.tollgate.cluster.config.ConfigStore.ConfigVersion;
import dev.tollgate.cluster.config.ConfigStore.Refused;
import dev.tollgate.cluster.config.ConfigStore.Reply;
import dev.tollgate.cluster.config.ConfigStore.Unchanged;
import dev.tollgate.cluster.config.ConfigStore.VersionInfo;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.persistence.Database;
import dev.tollgate.persistence.DatabaseSchema;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The config store on real cluster nodes (actor systems on loopback ports) with real databases:
 * versions, rollbacks and seeds; the history across a full restart; and every node receiving each
 * version applied on another, with the propagation time measured.
 */
class ConfigStoreTest {

  static final Duration ASK = Duration.ofSeconds(10);

  @TempDir
  Path dataDir;

  final List<ActorSystem<Void>> systems = new ArrayList<>();

  @AfterEach
  void stop() {
    systems.forEach(ActorSystem::terminate);
    systems.forEach(s -> s.getWhenTerminated().toCompletableFuture().join());
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  ActorSystem<Void> node(NodeSettings.Cluster cluster, Database database) throws Exception {
    DatabaseSchema.create(database);
    Config config = database.pekkoConfig(4)
        .withFallback(ClusterMembership.pekkoConfig(cluster))
        .withFallback(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            pekko.actor.serialize-messages = on
            """))
        .withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), ClusterMembership.SYSTEM_NAME, config);
    systems.add(system);
    ClusterMembership.join(system, cluster);
    return system;
  }

  static long up(ActorSystem<?> system) {
    return StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .count();
  }

  static Reply ask(ActorSystem<?> system, ActorRef<ConfigStore.Command> store,
      java.util.function.Function<ActorRef<Reply>, ConfigStore.Command> command) {
    return AskPattern.ask(store, command::apply, ASK, system.scheduler()).toCompletableFuture().join();
  }

  static List<VersionInfo> history(ActorSystem<?> system, ActorRef<ConfigStore.Command> store) {
    return AskPattern.<ConfigStore.Command, ConfigStore.History>ask(store, ConfigStore.GetHistory::new, ASK,
        system.scheduler()).toCompletableFuture().join().versions();
  }

  static String doc(int n) {
    return "routes: []  # version " + n + "\n";
  }

  @Test
  void versionsRollbacksAndSeedsAndAFullRestartKeepsTheHistory() throws Exception {
    Database h2 = Database.h2(dataDir);
    NodeSettings.Cluster alone = NodeSettingsLoader.defaults().cluster().withPort(0);
    ActorSystem<Void> system = node(alone, h2);
    List<ConfigVersion> seen = new CopyOnWriteArrayList<>();
    ConfigFeed.follow(system, "feed", seen::add);
    ActorRef<ConfigStore.Command> store = ConfigStore.singleton(system, Clock.systemUTC());

    Reply first = ask(system, store, r -> new ConfigStore.Seed(doc(1), "seed:gateway.yaml", r));
    assertThat(first).isInstanceOfSatisfying(Applied.class, a -> {
      assertThat(a.version().version()).isEqualTo(1);
      assertThat(a.version().digest()).isEqualTo(ConfigStore.digest(doc(1)));
    });
    assertThat(ask(system, store, r -> new ConfigStore.Seed(doc(1), "seed:gateway.yaml", r)))
        .as("the same file again").isInstanceOf(Unchanged.class);
    assertThat(ask(system, store, r -> new ConfigStore.Apply(doc(1), "ops", r)))
        .as("the current document again").isInstanceOf(Unchanged.class);
    // A changed file replaces a version that came from a file.
    assertThat(ask(system, store, r -> new ConfigStore.Seed(doc(2), "seed:gateway.yaml", r)))
        .isInstanceOfSatisfying(Applied.class, a -> assertThat(a.version().version()).isEqualTo(2));
    assertThat(ask(system, store, r -> new ConfigStore.Apply(doc(3), "ops", r))).isInstanceOf(Applied.class);
    assertThat(ask(system, store, r -> new ConfigStore.Seed(doc(9), "seed:other.yaml", r)))
        .as("a file never overwrites config applied through the admin API").isInstanceOf(Unchanged.class);
    Reply rollback = ask(system, store, r -> new ConfigStore.Rollback(1, "ops", r));
    assertThat(rollback).isInstanceOfSatisfying(Applied.class, a -> {
      assertThat(a.version().version()).isEqualTo(4);
      assertThat(a.version().rollbackOf()).isEqualTo(1);
      assertThat(a.version().document()).isEqualTo(doc(1));
    });
    assertThat(ask(system, store, r -> new ConfigStore.Seed(doc(9), "seed:gateway.yaml", r)))
        .as("nor a rollback").isInstanceOf(Unchanged.class);
    assertThat(ask(system, store, r -> new ConfigStore.Rollback(7, "ops", r)))
        .isEqualTo(new Refused("there is no version 7 (versions are 1 to 4)"));
    assertThat(history(system, store)).extracting(VersionInfo::version, VersionInfo::appliedBy, VersionInfo::rollbackOf)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, "seed:gateway.yaml", 0L),
            org.assertj.core.groups.Tuple.tuple(2L, "seed:gateway.yaml", 0L),
            org.assertj.core.groups.Tuple.tuple(3L, "ops", 0L), org.assertj.core.groups.Tuple.tuple(4L, "ops", 1L));
    await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).version() == 4);
    assertThat(seen).extracting(ConfigVersion::version).isSorted().doesNotHaveDuplicates();

    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();

    // A full restart: the journal brings the history back, and the current version is published again.
    ActorSystem<Void> again = node(alone, h2);
    List<ConfigVersion> seenAgain = new CopyOnWriteArrayList<>();
    ConfigFeed.follow(again, "feed", seenAgain::add);
    ActorRef<ConfigStore.Command> restored = ConfigStore.singleton(again, Clock.systemUTC());
    assertThat(history(again, restored)).extracting(VersionInfo::version).containsExactly(1L, 2L, 3L, 4L);
    assertThat(ask(again, restored, r -> new ConfigStore.Seed(doc(5), "seed:gateway.yaml", r)))
        .isInstanceOfSatisfying(Unchanged.class, u -> assertThat(u.current().version()).isEqualTo(4));
    await().atMost(Duration.ofSeconds(5)).until(() -> seenAgain.size() == 1);
    assertThat(seenAgain.get(0).document()).isEqualTo(doc(1));
  }

  @Test
  void everyNodeReceivesEachVersionAppliedOnAnotherWithinASecond() throws Exception {
    try (EmbeddedPostgres postgres = EmbeddedPostgres.start()) {
      Database db = Database.postgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres");
      int[] ports = {freePort(), freePort(), freePort()};
      NodeSettings.Cluster base = NodeSettingsLoader.defaults().cluster()
          .withSeeds(List.of("127.0.0.1:" + ports[0])).withDownAfter(Duration.ofSeconds(2));
      List<ActorSystem<Void>> nodes = new ArrayList<>();
      List<AtomicLong> latest = new ArrayList<>();
      List<List<long[]>> arrivals = new ArrayList<>();
      for (int port : ports) {
        ActorSystem<Void> node = node(base.withPort(port), db);
        nodes.add(node);
        AtomicLong version = new AtomicLong();
        List<long[]> arrived = new CopyOnWriteArrayList<>();
        ConfigFeed.follow(node, "feed", v -> {
          arrived.add(new long[] {v.version(), System.nanoTime()});
          version.set(v.version());
        });
        latest.add(version);
        arrivals.add(arrived);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(n -> up(n) == 3));
      List<ActorRef<ConfigStore.Command>> stores = nodes.stream().map(n -> ConfigStore.singleton(n, Clock.systemUTC())).toList();

      // The first apply also starts the singleton (recovery from the journal, the first statements
      // on the pool): timed, but apart from the propagation of the ones after it.
      long coldStart = System.nanoTime();
      assertThat(ask(nodes.get(1), stores.get(1), r -> new ConfigStore.Apply(doc(0), "ops", r))).isInstanceOf(Applied.class);
      await().atMost(Duration.ofSeconds(10)).until(() -> latest.stream().allMatch(v -> v.get() >= 1));
      long coldMillis = (System.nanoTime() - coldStart) / 1_000_000;

      int applies = 50;
      List<Long> millis = new ArrayList<>();
      for (int i = 1; i <= applies; i++) {
        int n = i;
        // Applied through a node that does not host the singleton (the oldest, node 0, does).
        ActorSystem<Void> via = nodes.get(1 + i % 2);
        long start = System.nanoTime();
        Reply reply = ask(via, stores.get(1 + i % 2), r -> new ConfigStore.Apply(doc(n), "ops", r));
        assertThat(reply).isInstanceOf(Applied.class);
        long version = ((Applied) reply).version().version();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
            .until(() -> latest.stream().allMatch(v -> v.get() >= version));
        long slowest = 0;
        for (List<long[]> arrived : arrivals) {
          long at = arrived.stream().filter(a -> a[0] == version).mapToLong(a -> a[1]).findFirst().orElse(System.nanoTime());
          slowest = Math.max(slowest, at - start);
        }
        millis.add(slowest / 1_000_000);
      }
      Collections.sort(millis);
      long p50 = millis.get(applies / 2);
      long p99 = millis.get((int) Math.ceil(applies * 0.99) - 1);
      System.out.printf("config propagation over %d applies (ask to the store, persist, publish, all 3 nodes): p50 %d ms,"
          + " p99 %d ms, max %d ms; the first apply, which started the store, %d ms%n", applies, p50, p99,
          millis.get(applies - 1), coldMillis);
      assertThat(p99).as("p99 of the time until all three nodes had a version, in ms").isLessThanOrEqualTo(1000);
    }
  }
}
