package dev.tollgate.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster bootstrap for real: three actor systems on loopback, no seeds, each with Pekko Management
 * on a port of its own, find each other through the {@code config} discovery method and form one
 * cluster of three; a fourth started later joins that cluster instead of forming one of its own.
 * Ports are picked free up front, since each node's contact points name the others' ports.
 */
class ClusterBootstrapTest {

  final List<ActorSystem<Void>> systems = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    systems.forEach(ActorSystem::terminate);
    for (ActorSystem<Void> s : systems) {
      s.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  ActorSystem<Void> node(NodeSettings.Cluster cluster, int managementPort) {
    Config config = ClusterMembership.pekkoConfig(cluster)
        .withFallback(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            pekko.management.http.hostname = "127.0.0.1"
            pekko.management.http.port = %d
            """.formatted(managementPort)))
        .withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), ClusterMembership.SYSTEM_NAME, config);
    systems.add(system);
    ClusterMembership.join(system, cluster);
    return system;
  }

  static Set<String> upMembers(ActorSystem<?> system) {
    Set<String> up = new HashSet<>();
    StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .map(Member::address)
        .forEach(a -> up.add(a.toString()));
    return up;
  }

  @Test
  void threeNodesWithoutSeedsBootstrapOneClusterThroughConfigDiscoveryAndALaterFourthJoinsIt() throws Exception {
    int[] remoting = {freePort(), freePort(), freePort(), freePort()};
    int[] management = {freePort(), freePort(), freePort(), freePort()};
    List<String> contactPoints = List.of("127.0.0.1:" + management[0], "127.0.0.1:" + management[1],
        "127.0.0.1:" + management[2]);
    // All three must have answered before the one with the lowest address forms the cluster, so
    // each start-up order ends in the same single cluster.
    NodeSettings.Cluster base = NodeSettingsLoader.defaults().cluster()
        .withDiscovery(NodeSettings.Cluster.Discovery.CONFIG,
            NodeSettings.Bootstrap.DEFAULT.withContactPoints(contactPoints).withRequiredContactPoints(3));
    assertThat(base.seeds()).isEmpty();

    List<ActorSystem<Void>> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(node(base.withPort(remoting[i]), management[i]));
    }
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> nodes.stream().allMatch(n -> upMembers(n).size() == 3));

    Set<String> expected = new HashSet<>();
    for (int port : List.of(remoting[0], remoting[1], remoting[2])) {
      expected.add("pekko://" + ClusterMembership.SYSTEM_NAME + "@127.0.0.1:" + port);
    }
    for (ActorSystem<Void> n : nodes) {
      assertThat(upMembers(n)).as("one cluster of the three, as each node sees it").isEqualTo(expected);
    }

    // The fourth lists itself among its contact points, so it could form a cluster of its own if
    // bootstrap ignored the cluster the others answer with.
    List<String> withFourth = new ArrayList<>(contactPoints);
    withFourth.add("127.0.0.1:" + management[3]);
    NodeSettings.Cluster fourth = base.withDiscovery(NodeSettings.Cluster.Discovery.CONFIG,
        base.bootstrap().withContactPoints(withFourth).withRequiredContactPoints(1)).withPort(remoting[3]);
    nodes.add(node(fourth, management[3]));
    expected.add("pekko://" + ClusterMembership.SYSTEM_NAME + "@127.0.0.1:" + remoting[3]);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> nodes.stream().allMatch(n -> upMembers(n).size() == 4));
    for (ActorSystem<Void> n : nodes) {
      assertThat(upMembers(n)).as("the fourth joined the existing cluster").isEqualTo(expected);
    }
  }

  @Test
  void seedsKeepTheBootstrapRouteOffAndKubernetesDiscoveryLooksUpPodsByIp() {
    NodeSettings.Cluster seeds = NodeSettingsLoader.defaults().cluster();
    Config off = ClusterMembership.pekkoConfig(seeds);
    assertThat(off.getString("pekko.management.http.routes.cluster-bootstrap")).isEmpty();
    assertThat(off.hasPath("pekko.management.cluster.bootstrap")).isFalse();

    NodeSettings.Cluster k8s = seeds.withDiscovery(NodeSettings.Cluster.Discovery.KUBERNETES_API,
        new NodeSettings.Bootstrap("edge", 3, "app.kubernetes.io/name=%s", List.of()));
    Config on = ClusterMembership.pekkoConfig(k8s);
    assertThat(on.hasPath("pekko.management.http.routes.cluster-bootstrap")).isFalse();
    String discovery = "pekko.management.cluster.bootstrap.contact-point-discovery.";
    assertThat(on.getString(discovery + "discovery-method")).isEqualTo("kubernetes-api");
    assertThat(on.getString(discovery + "service-name")).isEqualTo("edge");
    assertThat(on.getInt(discovery + "required-contact-point-nr")).isEqualTo(3);
    assertThat(on.getString("pekko.discovery.kubernetes-api.pod-label-selector")).isEqualTo("app.kubernetes.io/name=%s");
    assertThat(on.getBoolean("pekko.discovery.kubernetes-api.use-raw-ip")).isTrue();
    assertThat(on.getStringList("pekko.cluster.seed-nodes")).isEmpty();
  }
}
