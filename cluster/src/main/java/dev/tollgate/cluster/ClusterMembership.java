package dev.tollgate.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.tollgate.config.NodeSettings;
import com.typesafe.config.ConfigUtil;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node becomes a member of the Tollgate cluster: Artery remoting on the configured address,
 * the configured seeds (or itself, for a cluster of one), and Pekko's split-brain resolver with
 * keep-majority, which downs members unreachable for {@code down-after}.
 *
 * <p>Time to down a crashed member: the failure detector's acceptable heartbeat pause (3 s by
 * default) to mark it unreachable, then {@code down-after}, then a gossip round or two. Its shards
 * and singletons start elsewhere {@code removal-margin} later. With {@code down-crashed}, a member
 * whose remoting port refuses connections is downed and removed within a second or so ({@link
 * CrashDowning}), without waiting for the failure detector or {@code down-after}.
 */
public final class ClusterMembership {

  private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);

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
        // Without it, the resolver makes the margin its stable-after: a crashed member's shards would
        // wait down-after twice. The margin guards against two live copies of a persistent actor;
        // ours cannot act twice (stale writes are refused: durable state by revision, the config
        // journal by sequence number), so a short one is enough.
        .withValue("pekko.cluster.down-removal-margin",
            ConfigValueFactory.fromAnyRef(cluster.removalMargin().toMillis() + "ms"))
        // A config version written to every node is handed to the node's followers within this, not
        // within the default 500 ms: config must reach every node within a second of an apply.
        .withValue("pekko.cluster.distributed-data.notify-subscribers-interval", ConfigValueFactory.fromAnyRef("20ms"))
        .withFallback(bootstrapConfig(cluster));
  }

  private static final String BOOTSTRAP = "pekko.management.cluster.bootstrap.";

  /**
   * Cluster bootstrap and its discovery, for a discovery other than seeds. With seeds, the
   * bootstrap's route ({@code /bootstrap/seed-nodes}) is not served, so Management shows what it
   * showed before bootstrap was on the class path.
   */
  static Config bootstrapConfig(NodeSettings.Cluster cluster) {
    if (!cluster.bootstraps()) {
      return ConfigFactory.parseMap(Map.of("pekko.management.http.routes.cluster-bootstrap", ""));
    }
    NodeSettings.Bootstrap b = cluster.bootstrap();
    Map<String, Object> values = new HashMap<>();
    values.put(BOOTSTRAP + "contact-point-discovery.service-name", b.serviceName());
    values.put(BOOTSTRAP + "contact-point-discovery.required-contact-point-nr", b.requiredContactPoints());
    values.put(BOOTSTRAP + "contact-point-discovery.discovery-method", cluster.discovery().setting());
    if (cluster.discovery() == NodeSettings.Cluster.Discovery.KUBERNETES_API) {
      values.put("pekko.discovery.kubernetes-api.pod-label-selector", b.podLabelSelector());
      // Contact points by pod IP: pod DNS records (a-b-c-d.namespace.pod) are not served by every cluster DNS.
      values.put("pekko.discovery.kubernetes-api.use-raw-ip", true);
    } else {
      List<Map<String, Object>> endpoints = b.contactPoints().stream().map(hostPort -> {
        int colon = hostPort.lastIndexOf(':');
        return Map.<String, Object>of("host", hostPort.substring(0, colon),
            "port", Integer.parseInt(hostPort.substring(colon + 1)));
      }).toList();
      values.put("pekko.discovery.config.services." + ConfigUtil.quoteString(b.serviceName()) + ".endpoints", endpoints);
      // Nodes that share a host (tests, one machine) have contact points that differ by port only;
      // the default keeps only the one at this node's own management port of each host.
      values.put(BOOTSTRAP + "contact-point.filter-on-fallback-port", false);
    }
    Config config = ConfigFactory.empty();
    for (Map.Entry<String, Object> e : values.entrySet()) {
      config = config.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    return config;
  }

  /**
   * Starts membership: with seeds, Pekko joins them by itself (from {@link #pekkoConfig}); without,
   * the node joins itself and forms a cluster of one. With a bootstrap discovery, Pekko Management
   * starts (its bound address is the node's own contact point), then cluster bootstrap, which joins
   * the cluster its contact points have or forms one with them. A later {@code
   * PekkoManagement.start()} gets the same binding. With {@code down-crashed}, the node also watches
   * for crashed members ({@link CrashDowning}).
   */
  public static void join(ActorSystem<?> system, NodeSettings.Cluster cluster) {
    if (cluster.downCrashed()) {
      CrashDowning.start(system, CrashDowning.Settings.DEFAULT);
    }
    if (cluster.bootstraps()) {
      bootstrap(system, cluster);
    } else if (cluster.seeds().isEmpty()) {
      Cluster c = Cluster.get(system);
      c.manager().tell(Join.create(c.selfMember().address()));
    }
  }

  private static void bootstrap(ActorSystem<?> system, NodeSettings.Cluster cluster) {
    PekkoManagement.get(system.classicSystem()).start().whenComplete((uri, failure) -> {
      if (failure != null) {
        log.error("Pekko Management did not start ({}): no cluster bootstrap, this node joins no cluster",
            failure.toString());
        return;
      }
      log.info("Cluster bootstrap through {} discovery of \"{}\", contact point {}", cluster.discovery(),
          cluster.bootstrap().serviceName(), uri);
      ClusterBootstrap.get(system.classicSystem()).start();
    });
  }
}
