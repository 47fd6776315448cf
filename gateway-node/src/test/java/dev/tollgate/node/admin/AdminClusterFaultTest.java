package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static dev.tollgate.node.admin.AdminNode.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.node.GatewayNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.junit.jupiter.api.Test;

/**
 * Two real nodes, one of them crashed and not downed (the split-brain resolver would wait a minute):
 * {@code GET /cluster} on the other still answers, showing the crashed member unreachable and its
 * shard region silent; the usage of a consumer whose entity lived on the crashed node is 503 with
 * {@code Retry-After}.
 */
class AdminClusterFaultTest {

  static final String CONFIG = """
      upstreams:
        - name: app
          targets: [{url: "%s"}]
      plans:
        - {name: gold, limits: [{requests: 1000, per: day}]}
      consumers:
        - {id: c0, plan: gold, api_keys: [{key: c0-key-0123456789}]}
        - {id: c1, plan: gold, api_keys: [{key: c1-key-0123456789}]}
        - {id: c2, plan: gold, api_keys: [{key: c2-key-0123456789}]}
        - {id: c3, plan: gold, api_keys: [{key: c3-key-0123456789}]}
      routes:
        - name: api
          match: {paths: [/api]}
          upstream: app
      """;

  static JsonNode member(JsonNode view, String address) {
    for (JsonNode m : view.path("members")) {
      if (m.path("address").asText().equals(address)) {
        return m;
      }
    }
    throw new AssertionError(address + " is not in " + view);
  }

  @Test
  void aCrashedMembersRegionIsReportedSilentAndItsConsumersUsageIs503() throws Exception {
    try (AdminCluster cluster = new AdminCluster(CONFIG, 2,
        s -> s.withCluster(s.cluster().withDownAfter(Duration.ofSeconds(60)).withRemovalMargin(Duration.ofSeconds(60))))) {
      GatewayNode first = cluster.nodes.get(0);
      // Consumers until one's entity lives on the second node, which is crashed then; the first
      // (the oldest, which runs the shard coordinator) survives.
      GatewayNode doomed = cluster.nodes.get(1);
      String consumer = null;
      for (int i = 0; i < 4 && consumer == null; i++) {
        assertThat(AdminNode.proxy(first, "/api", "c" + i + "-key-0123456789").statusCode()).isEqualTo(200);
        if (cluster.hostOf("c:c" + i).orElseThrow() == doomed) {
          consumer = "c" + i;
        }
      }
      if (consumer == null) {
        // Four consumers all on the first node: take the other way round, and crash the first.
        doomed = first;
        first = cluster.nodes.get(1);
        consumer = "c0";
      }
      GatewayNode survivor = first;
      String crashed = AdminCluster.address(doomed);
      Address crashedAddress = Cluster.get(doomed.system()).selfMember().address();
      AdminNode admin = cluster.admin(survivor);
      cluster.crash(doomed);

      HttpResponse<String> usage = admin.admin("GET", "/consumers/" + consumer + "/usage", null);
      assertThat(usage.statusCode()).isEqualTo(503);
      assertThat(usage.headers().firstValue("Retry-After")).hasValue("5");
      assertThat(problem(usage)).isEqualTo(json("""
          {"type": "urn:tollgate:problem:quota-unavailable", "title": "Quota entity unavailable", "status": 503,
           "detail": "The quota entity c:%s of consumer '%s' did not answer within 1 s (its shard may be moving to another node, or its node be unreachable); nothing was changed."}"""
          .formatted(consumer, consumer)));

      JsonNode[] view = new JsonNode[1];
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
        HttpResponse<String> r = admin.admin("GET", "/cluster", null);
        assertThat(r.statusCode()).as("the whole call never fails").isEqualTo(200);
        view[0] = json(r.body());
        return !member(view[0], crashed).path("reachable").asBoolean();
      });
      System.out.println("GET /cluster with a crashed member: " + view[0]);
      JsonNode gone = member(view[0], crashed);
      assertThat(gone.path("status").asText()).as("not downed yet").isEqualTo("Up");
      assertThat(gone.path("sharding").path("ConsumerQuota")).isEqualTo(json("""
          {"answered": false, "reason": "its shard region did not answer within 1 s"}"""));
      JsonNode alive = member(view[0], AdminCluster.address(survivor));
      assertThat(alive.path("reachable").asBoolean()).isTrue();
      assertThat(alive.path("sharding").path("ConsumerQuota").path("answered").asBoolean()).isTrue();
      assertThat(alive.path("sharding").path("ConsumerQuota").path("entities").asLong()).isPositive();

      Cluster.get(survivor.system()).manager().tell(new Down(crashedAddress));
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
          .until(() -> json(admin.admin("GET", "/cluster", null).body()).path("members").size() == 1);
      // Its shards move to the survivor only after the removal margin (a minute here): until then
      // the consumer's usage stays 503.
      assertThat(admin.admin("GET", "/consumers/" + consumer + "/usage", null).statusCode()).isEqualTo(503);
    }
  }
}
