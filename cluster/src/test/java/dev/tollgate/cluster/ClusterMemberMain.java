package dev.tollgate.cluster;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A cluster member in a JVM of its own, for tests that pause or kill a real process: arguments are
 * its remoting port, the seed's port and the resolver's {@code down-after} in seconds. It runs until
 * it is killed.
 */
public final class ClusterMemberMain {

  private ClusterMemberMain() {}

  public static void main(String[] args) throws InterruptedException {
    NodeSettings.Cluster cluster = NodeSettingsLoader.defaults().cluster()
        .withPort(Integer.parseInt(args[0]))
        .withSeeds(List.of("127.0.0.1:" + args[1]))
        .withDownAfter(Duration.ofSeconds(Long.parseLong(args[2])));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), ClusterMembership.SYSTEM_NAME,
        ConfigFactory.parseString("pekko.loglevel = WARNING")
            .withFallback(ClusterMembership.pekkoConfig(cluster))
            .withFallback(ConfigFactory.load()));
    ClusterMembership.join(system, cluster);
    system.getWhenTerminated().toCompletableFuture().join();
  }
}
