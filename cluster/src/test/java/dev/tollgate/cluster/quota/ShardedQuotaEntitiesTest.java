package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.ClusterMembership;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.persistence.Database;
import dev.tollgate.persistence.DatabaseSchema;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sharded entities of a real one-node cluster on H2: what happens to an answer that comes late. */
class ShardedQuotaEntitiesTest {

  static final LimitSpec DAILY = new LimitSpec("window/86400s", 1000, "day", 0);

  @TempDir
  Path dataDir;

  ActorSystem<Void> system;

  @AfterEach
  void stop() {
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
    }
  }

  ShardedQuotaEntities start() throws Exception {
    Database database = Database.h2(dataDir);
    DatabaseSchema.create(database);
    NodeSettings.Cluster alone = NodeSettingsLoader.defaults().cluster().withPort(0);
    system = ActorSystem.create(Behaviors.empty(), ClusterMembership.SYSTEM_NAME,
        database.pekkoConfig(4)
            .withFallback(ClusterMembership.pekkoConfig(alone))
            .withFallback(ConfigFactory.parseString("pekko.loglevel = WARNING"))
            .withFallback(ConfigFactory.load()));
    ClusterMembership.join(system, alone);
    await().atMost(Duration.ofSeconds(20))
        .until(() -> Cluster.get(system).selfMember().status() == MemberStatus.up());
    return new ShardedQuotaEntities(system, ConsumerQuota.Settings.DEFAULT, Duration.ofSeconds(2));
  }

  static ConsumerQuota.LimitUsage usage(ShardedQuotaEntities entities, String id) {
    return entities.usage(id, List.of(DAILY), Duration.ofSeconds(5)).toCompletableFuture().join().limits().get(0);
  }

  @Test
  void anAnswerAfterItsAskTimedOutGivesItsTokensBack() throws Exception {
    ShardedQuotaEntities entities = start();
    String id = "c:late-" + System.nanoTime();
    // A new entity starts and reads the database before it answers: far more than 1 ms.
    assertThatThrownBy(() -> entities.acquire(id, List.of(ConsumerQuota.Ask.grant(DAILY, 100, 400)),
            Duration.ofMillis(1)).toCompletableFuture().join())
        .isInstanceOf(CompletionException.class).hasCauseInstanceOf(TimeoutException.class);
    // Its grant was made and stored (the ask came within the entity's margin for clocks), but
    // nobody took it: it goes back, rather than counting as spent until the window ends.
    await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50))
        .until(() -> usage(entities, id).consumed() == 0 && usage(entities, id).leasedOut() == 0);
    assertThat(usage(entities, id).remaining()).isEqualTo(1000);

    // An answer in time is the caller's, and stays leased out.
    ConsumerQuota.Answer answer = entities.acquire(id, List.of(ConsumerQuota.Ask.grant(DAILY, 100, 400)),
        Duration.ofSeconds(2)).toCompletableFuture().join();
    long granted = answer.grants().get(0).tokens();
    assertThat(granted).isPositive();
    assertThat(usage(entities, id).leasedOut()).isEqualTo(granted);
    assertThat(usage(entities, id).remaining()).isEqualTo(1000 - granted);
  }
}
