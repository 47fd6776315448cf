package dev.tollgate.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Real actor systems on loopback ports form one cluster, and lose a crashed member to the SBR. */
class ClusterMembershipTest {

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

  ActorSystem<Void> node(NodeSettings.Cluster cluster, String extra) {
    Config config = ConfigFactory.parseString(extra)
        .withFallback(ClusterMembership.pekkoConfig(cluster))
        .withFallback(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
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

  @Test
  void aNodeWithoutSeedsFormsAClusterOfOne() {
    NodeSettings.Cluster settings = NodeSettingsLoader.defaults().cluster().withPort(0);
    ActorSystem<Void> alone = node(settings, "");
    await().atMost(Duration.ofSeconds(15)).until(() -> up(alone) == 1);
    assertThat(Cluster.get(alone).selfMember().status()).isEqualTo(MemberStatus.up());
  }

  @Test
  void threeNodesJoinAndTheMajorityDownsACrashedOne() throws Exception {
    int[] ports = {freePort(), freePort(), freePort()};
    List<String> seeds = List.of("127.0.0.1:" + ports[0]);
    // Crash downing off: this is the resolver's own path, for crashes it cannot prove by a refusal.
    NodeSettings.Cluster base = NodeSettingsLoader.defaults().cluster().withSeeds(seeds).withDownAfter(Duration.ofSeconds(2))
        .withDownCrashed(false);
    List<ActorSystem<Void>> m = threeMembers(base, ports);
    ActorSystem<Void> a = m.get(0);
    ActorSystem<Void> b = m.get(1);
    crash(m.get(2));

    long start = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(() -> up(a) == 2 && up(b) == 2 && members(a) == 2);
    long downedAfterMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(Cluster.get(a).selfMember().status()).isEqualTo(MemberStatus.up());
    assertThat(Cluster.get(b).selfMember().status()).isEqualTo(MemberStatus.up());
    System.out.println("crashed member removed after " + downedAfterMs + " ms (down-after 2 s)");
  }

  /** Three members; the second and third can crash (terminated, they do not leave politely). */
  List<ActorSystem<Void>> threeMembers(NodeSettings.Cluster base, int[] ports) {
    String crashes = """
        pekko.coordinated-shutdown.run-by-actor-system-terminate = off
        pekko.cluster.run-coordinated-shutdown-when-down = off
        """;
    ActorSystem<Void> a = node(base.withPort(ports[0]), "");
    ActorSystem<Void> b = node(base.withPort(ports[1]), crashes);
    ActorSystem<Void> c = node(base.withPort(ports[2]), crashes);
    await().atMost(Duration.ofSeconds(30)).until(() -> up(a) == 3 && up(b) == 3 && up(c) == 3);
    return List.of(a, b, c);
  }

  static NodeSettings.Cluster waitingAMinute(int[] ports) {
    return NodeSettingsLoader.defaults().cluster().withSeeds(List.of("127.0.0.1:" + ports[0]))
        .withDownAfter(Duration.ofSeconds(60));
  }

  void crash(ActorSystem<Void> system) {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
    systems.remove(system);
  }

  static int members(ActorSystem<?> system) {
    return (int) StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false).count();
  }

  static boolean seesUnreachable(ActorSystem<?> system, int count) {
    return Cluster.get(system).state().getUnreachable().size() == count;
  }

  @Test
  void aCrashedMemberWhosePortRefusesIsDownedWithoutWaitingDownAfter() throws Exception {
    int[] ports = {freePort(), freePort(), freePort()};
    List<ActorSystem<Void>> m = threeMembers(waitingAMinute(ports), ports);
    long start = System.nanoTime();
    crash(m.get(2));
    // The resolver alone would keep it a minute; the refused connects get it downed and removed.
    await().atMost(Duration.ofSeconds(30)).until(() -> members(m.get(0)) == 2 && members(m.get(1)) == 2);
    System.out.println("crashed member removed after " + (System.nanoTime() - start) / 1_000_000
        + " ms (down-after 60 s)");
    assertThat(up(m.get(0))).isEqualTo(2);
    assertThat(up(m.get(1))).isEqualTo(2);
  }

  /** A member in a JVM of its own (it logs to this test's output), on {@code port}, seeded by {@code seed}. */
  static Process memberProcess(int port, int seed) throws IOException {
    String launcher = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(launcher, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        ClusterMemberMain.class.getName(), String.valueOf(port), String.valueOf(seed), "60")
        .inheritIO().start();
  }

  static void signal(Process process, String signal) throws Exception {
    // The shell's own kill: no kill binary needs to be installed.
    assertThat(new ProcessBuilder("sh", "-c", "kill -" + signal + " " + process.pid()).start().waitFor()).isZero();
  }

  @Test
  void aPausedProcessIsLeftToTheResolverAndAKilledOneIsDownedAtOnce() throws Exception {
    int[] ports = {freePort(), freePort(), freePort()};
    NodeSettings.Cluster base = waitingAMinute(ports);
    ActorSystem<Void> a = node(base.withPort(ports[0]), "");
    ActorSystem<Void> b = node(base.withPort(ports[1]), "");
    Process c = memberProcess(ports[2], ports[0]);
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> up(a) == 3 && up(b) == 3);
      // Stopped, not dead: its kernel still completes connects to its port, so no probe is refused.
      signal(c, "STOP");
      await().atMost(Duration.ofSeconds(20)).until(() -> seesUnreachable(a, 1) && seesUnreachable(b, 1));
      Thread.sleep(5_000);
      assertThat(members(a)).isEqualTo(3);
      assertThat(members(b)).isEqualTo(3);
      assertThat(Cluster.get(a).state().getUnreachable()).allMatch(u -> u.status() == MemberStatus.up());
      signal(c, "CONT");
      await().atMost(Duration.ofSeconds(30)).until(() -> seesUnreachable(a, 0) && seesUnreachable(b, 0));
      assertThat(up(a)).isEqualTo(3);

      // Killed: its port now refuses, and it is downed long before down-after (60 s).
      long killed = System.nanoTime();
      c.destroyForcibly().waitFor();
      await().atMost(Duration.ofSeconds(30)).until(() -> members(a) == 2 && members(b) == 2);
      System.out.println("killed member process removed after " + (System.nanoTime() - killed) / 1_000_000
          + " ms (down-after 60 s)");
    } finally {
      c.destroyForcibly().waitFor();
    }
  }

  @Test
  void onlyASideThatKeepsAMajorityDownsWhatRefuses() throws Exception {
    int[] ports = {freePort(), freePort(), freePort()};
    List<ActorSystem<Void>> m = threeMembers(waitingAMinute(ports), ports);
    Iterable<Member> members = Cluster.get(m.get(0)).state().getMembers();
    Member b = memberOf(members, m.get(1));
    Member c = memberOf(members, m.get(2));
    // One of three refusing or unreachable: the other two are a majority.
    assertThat(CrashDowning.reachableMajority(members, Set.of(), Set.of(c.uniqueAddress()))).isTrue();
    assertThat(CrashDowning.reachableMajority(members, Set.of(c), Set.of(c.uniqueAddress()))).isTrue();
    assertThat(CrashDowning.reachableMajority(members, Set.of(), Set.of())).isTrue();
    // Two of three: this node cannot tell their crash from its own isolation behind a firewall that
    // resets, so it downs nobody; keep-majority's verdict is the resolver's to give.
    assertThat(CrashDowning.reachableMajority(members, Set.of(), Set.of(b.uniqueAddress(), c.uniqueAddress())))
        .isFalse();
    assertThat(CrashDowning.reachableMajority(members, Set.of(b), Set.of(c.uniqueAddress()))).isFalse();
  }

  static Member memberOf(Iterable<Member> members, ActorSystem<?> system) {
    return StreamSupport.stream(members.spliterator(), false)
        .filter(x -> x.uniqueAddress().equals(Cluster.get(system).selfMember().uniqueAddress()))
        .findFirst().orElseThrow();
  }

  @Test
  void aDownedMembersShardsAndSingletonsWaitTheRemovalMarginNotDownAfterAgain() {
    NodeSettings.Cluster settings = NodeSettingsLoader.defaults().cluster().withPort(0)
        .withDownAfter(Duration.ofSeconds(7)).withRemovalMargin(Duration.ofMillis(1500));
    ActorSystem<Void> alone = node(settings, "");
    // What sharding and singletons wait for after a member is removed: without the setting, the
    // resolver's stable-after (7 s here).
    assertThat(org.apache.pekko.cluster.Cluster.get(alone.classicSystem()).downingProvider().downRemovalMargin()
        .toMillis()).isEqualTo(1500);
  }
}
