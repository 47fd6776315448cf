package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rolling restart must not cost a consumer a request: while the node that hosts the consumer's
 * quota entity stops gracefully (ready delay, drain, its shards handing off to the others), requests
 * of that consumer to every node keep being admitted, never answered with the plan's {@code
 * on_unavailable}. The nodes share one directory, as in production. On a machine whose cores are
 * busy the hand-off can outlast one ask's timeout; a node then asks again rather than deny.
 */
class GracefulHandOffTest {

  static final String CONFIG = """
      upstreams:
        - name: backend
          targets: [{url: "%s"}]
      plans:
        - name: big
          limits: [{requests: 10000000, per: hour}]
          on_unavailable: deny
      consumers:
      CANDIDATES
      routes:
        - name: api
          match: {paths: [/api]}
          upstream: backend
      """;

  static EmbeddedPostgres postgres;
  QuotaCluster cluster;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.start();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  @AfterEach
  void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  record Answer(long atMillis, int status) {}

  static final int CANDIDATES = 16;

  static String config() {
    return CONFIG.replace("CANDIDATES", java.util.stream.IntStream.range(0, CANDIDATES)
        .mapToObj(i -> "  - {id: handoff" + i + ", plan: big, api_keys: [{key: key-handoff" + i + "-0123456789}]}")
        .collect(java.util.stream.Collectors.joining("\n")));
  }

  @Test
  void stoppingTheEntitysNodeCostsTheConsumerNoRequest() throws Exception {
    cluster = new QuotaCluster(postgres, config());
    cluster.readyDelay = Duration.ofSeconds(2);
    cluster.sharedDirectory = true;
    cluster.start(3);
    // The hardest case: the entity lives on the oldest node, which also runs the shard coordinator,
    // so that the coordinator moves too while the entity's shard finds a new home.
    GatewayNode host = cluster.nodes.get(0);
    String key = null;
    String entity = null;
    for (int i = 0; i < CANDIDATES && key == null; i++) {
      assertThat(cluster.send(host, "key-handoff" + i + "-0123456789").statusCode()).isEqualTo(200);
      if (cluster.hostOf("c:handoff" + i).orElseThrow() == host) {
        key = "key-handoff" + i + "-0123456789";
        entity = "c:handoff" + i;
      }
    }
    assertThat(key).as("a consumer whose entity lives on the oldest node").isNotNull();
    QuotaCluster.Tally warm = cluster.offer(600, key, cluster.nodes, 34, 33, 33);
    assertThat(warm.admitted()).isEqualTo(600);
    List<GatewayNode> survivors = cluster.others(host);
    String consumerKey = key;

    ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Answer> atHost = new ConcurrentLinkedQueue<>();
    AtomicBoolean running = new AtomicBoolean(true);
    long start = System.nanoTime();
    ExecutorService load = Executors.newFixedThreadPool(10);
    for (int t = 0; t < 8; t++) {
      GatewayNode target = survivors.get(t % survivors.size());
      load.submit(() -> {
        while (running.get()) {
          int status = cluster.send(target, consumerKey).statusCode();
          answers.add(new Answer((System.nanoTime() - start) / 1_000_000, status));
        }
      });
    }
    // The stopping node serves its clients until it stops accepting, as behind a balancer.
    int hostPort = host.proxyAddress().getPort();
    for (int t = 0; t < 2; t++) {
      load.submit(() -> {
        while (running.get()) {
          try {
            int status = cluster.send(host, consumerKey).statusCode();
            atHost.add(new Answer((System.nanoTime() - start) / 1_000_000, status));
          } catch (RuntimeException closed) {
            QuotaCluster.sleep(20);
          }
        }
      });
    }
    QuotaCluster.sleep(1500);
    long stopAt = (System.nanoTime() - start) / 1_000_000;
    cluster.stopGracefully(host);
    long stoppedAt = (System.nanoTime() - start) / 1_000_000;
    QuotaCluster.sleep(3000);
    running.set(false);
    load.shutdown();
    assertThat(load.awaitTermination(30, TimeUnit.SECONDS)).isTrue();

    Map<Integer, Integer> byStatus = new TreeMap<>();
    answers.forEach(a -> byStatus.merge(a.status(), 1, Integer::sum));
    List<Answer> failed = answers.stream().filter(a -> a.status() != 200).toList();
    Map<Integer, Integer> hostStatus = new TreeMap<>();
    atHost.forEach(a -> hostStatus.merge(a.status(), 1, Integer::sum));
    System.out.printf("graceful stop of the entity's node (proxy port %d) from %d ms to %d ms; answers %s;"
        + " at the stopping node %s; first failures %s%n",
        hostPort, stopAt, stoppedAt, byStatus, hostStatus, failed.stream().limit(20).toList());
    assertThat(cluster.hostOf(entity)).as("the entity lives on").isPresent().get().isNotSameAs(host);
    assertThat(failed).as("answers other than 200 while the entity's node stopped").isEmpty();
  }
}
