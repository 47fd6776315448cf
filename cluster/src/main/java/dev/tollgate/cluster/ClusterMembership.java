package dev.tollgate.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.tollgate.config.NodeSettings;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * How a node becomes a member of the Tollgate cluster: Artery remoting on the configured address,
 * the configured seeds (or itself, for a cluster of one), and Pekko's split-brain resolver with
 * keep-majority, which downs members unreachable for {@code down-after}.
 *
 * <p>Time to down a crashed member: the failure detector's acceptable heartbeat pause (3 s by
 * default) to mark it unreachable, then {@code down-after}, then a gossip round or two.
 */
public final class ClusterMembership {

  /** The actor system name every node uses; members of one cluster must share it. */
  public static final String SYSTEM_NAME = "tollgate";

  private ClusterMembership() {}

  /** The Pekko settings that make an actor system a cluster member with these settings. */
  public static Config pekkoConfig(NodeSettings.Cluster cluster) {
    List<String> seeds = cluster.seeds().stream().map(s -> "pekko://" + SYSTEM_NAME + "@" + s).toList();
    return ConfigFactory.empty()
        .withValue("pekko.actor.provider", ConfigValueFactory.fromAnyRef("cluster"))
        .withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tcp"))
        .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(cluster.host()))
        .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(cluster.port()))
        .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(seeds))
        .withValue("pekko.cluster.downing-provider-class",
            ConfigValueFactory.fromAnyRef("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"))
        .withValue("pekko.cluster.split-brain-resolver.active-strategy", ConfigValueFactory.fromAnyRef("keep-majority"))
        .withValue("pekko.cluster.split-brain-resolver.stable-after",
            ConfigValueFactory.fromAnyRef(cluster.downAfter().toMillis() + "ms"))
        // A config version written to every node is handed to the node's followers within this, not
        // within the default 500 ms: config must reach every node within a second of an apply.
        .withValue("pekko.cluster.distributed-data.notify-subscribers-interval", ConfigValueFactory.fromAnyRef("20ms"));
  }

  /**
   * Starts membership: with seeds, Pekko joins them by itself (from {@link #pekkoConfig}); without,
   * the node joins itself and forms a cluster of one.
   */
  public static void join(ActorSystem<?> system, NodeSettings.Cluster cluster) {
    if (cluster.seeds().isEmpty()) {
      Cluster c = Cluster.get(system);
      c.manager().tell(Join.create(c.selfMember().address()));
    }
  }
}
