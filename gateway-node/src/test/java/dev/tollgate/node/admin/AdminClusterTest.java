package dev.tollgate.node.admin;

import static dev.tollgate.node.admin.AdminNode.json;
import static dev.tollgate.node.admin.AdminNode.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.node.GatewayNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /cluster} and {@code GET /consumers/{id}/usage} on three real nodes: each node's view
 * of the members agrees with the cluster's, its shard counts with what each region holds, and a
 * consumer's usage, read on one node, with the requests another node's proxy admitted.
 */
class AdminClusterTest {

  static final String CONFIG = """
      upstreams:
        - name: app
          targets: [{url: "%s"}]
      plans:
        - name: gold
          limits:
            - {requests: 1000, per: day}
            - {requests: 1, per: 1h, burst: 100}
        - name: tiny
          limits: [{requests: 5, per: day}]
          on_unavailable: deny
      consumers:
        - {id: filed, plan: gold, api_keys: [{key: filed-key-0123456789}]}
        - {id: small, plan: tiny, api_keys: [{key: small-key-0123456789}]}
        - {id: planless, api_keys: [{key: planless-key-0123456789}]}
      routes:
        - name: search
          match: {paths: [/search]}
          upstream: app
          rate_limit: {by: consumer, limits: [{requests: 50, per: hour}]}
        - name: by-ip
          match: {paths: [/by-ip]}
          upstream: app
          rate_limit: {by: client_ip, limits: [{requests: 50, per: hour}]}
        - name: api
          match: {paths: [/api]}
          upstream: app
      """;

  static AdminCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    cluster = new AdminCluster(CONFIG, 3, s -> s);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /** Waits out the last minute of the hour, so that a test's requests and reads fall in one window. */
  static void awayFromTheEndOfTheHour() throws InterruptedException {
    Instant now = Instant.now();
    Instant end = now.truncatedTo(ChronoUnit.HOURS).plus(1, ChronoUnit.HOURS);
    if (Duration.between(now, end).compareTo(Duration.ofSeconds(60)) < 0) {
      Thread.sleep(Duration.between(now, end).toMillis() + 1000);
    }
  }

  static JsonNode usage(GatewayNode node, String consumer) {
    HttpResponse<String> r = cluster.admin(node).admin("GET", "/consumers/" + consumer + "/usage", null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return json(r.body());
  }

  /** The consumer's limits by policy name. */
  static Map<String, JsonNode> limits(JsonNode usage) {
    Map<String, JsonNode> out = new HashMap<>();
    usage.path("limits").forEach(l -> out.put(l.path("policy").asText(), l));
    assertThat(out).hasSize(usage.path("limits").size());
    return out;
  }

  static boolean nothingLeasedOut(JsonNode usage) {
    for (JsonNode l : usage.path("limits")) {
      if (l.path("leased_out").asLong() != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Once the nodes gave back what they did not use (200 ms after the last request) and the leases
   * they spent whole expired (5 s after their grant): a read with nothing leased out.
   */
  static JsonNode settledUsage(GatewayNode node, String consumer) {
    JsonNode[] last = new JsonNode[1];
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
        .until(() -> nothingLeasedOut(last[0] = usage(node, consumer)));
    return last[0];
  }

  static int get(GatewayNode node, String path, String key) {
    return AdminNode.proxy(node, path, key).statusCode();
  }

  @Test
  void usageReadOnOneNodeShowsExactlyWhatAnotherNodesProxyAdmitted() throws Exception {
    awayFromTheEndOfTheHour();
    GatewayNode a = cluster.nodes.get(0);
    GatewayNode b = cluster.nodes.get(1);
    for (int i = 0; i < 7; i++) {
      assertThat(get(a, "/search", "filed-key-0123456789")).isEqualTo(200);
    }
    // Right away the entity may still have tokens leased out to a: they count as spent.
    JsonNode early = usage(b, "filed");
    for (JsonNode l : early.path("limits")) {
      if (l.path("kind").asText().equals("window")) {
        assertThat(l.path("remaining").asLong()).as("%s", l)
            .isEqualTo(l.path("requests").asLong() - l.path("consumed").asLong() - l.path("leased_out").asLong());
        assertThat(l.path("consumed").asLong() + l.path("leased_out").asLong()).as("%s", l).isGreaterThanOrEqualTo(7);
      } else {
        assertThat(l.path("remaining").asLong()).as("%s", l).isLessThanOrEqualTo(100 - 7);
      }
    }

    JsonNode settled = settledUsage(b, "filed");
    System.out.println("GET /consumers/filed/usage: " + settled);
    Instant asOf = Instant.parse(settled.path("as_of").asText());
    assertThat(asOf).isBetween(Instant.now().minusSeconds(10), Instant.now());
    assertThat(settled.path("consumer").asText()).isEqualTo("filed");
    assertThat(settled.path("source").asText()).isEqualTo("config");
    assertThat(settled.path("plan").asText()).isEqualTo("gold");
    Map<String, JsonNode> limits = limits(settled);
    assertThat(limits).containsOnlyKeys("gold-day", "gold-1h-bucket", "search-hour");
    Instant midnight = asOf.truncatedTo(ChronoUnit.DAYS).plus(1, ChronoUnit.DAYS);
    ObjectNode day = (ObjectNode) limits.get("gold-day").deepCopy();
    assertThat(day.remove("entity_node").asText()).as("the member the entity runs on")
        .isIn(cluster.nodes.stream().map(n -> n.system().address().toString()).toList());
    assertThat(day.remove("resets_in_seconds").asLong())
        .isEqualTo(ConsumerUsage.secondsUntil(asOf, midnight)).isBetween(1L, 86_400L);
    assertThat(day).isEqualTo(json("""
        {"policy": "gold-day", "scope": "plan", "plan": "gold", "entity": "c:filed", "kind": "window",
         "requests": 1000, "per": "day", "remaining": 993, "consumed": 7, "leased_out": 0, "resets_at": "%s"}"""
        .formatted(midnight)));
    ObjectNode route = (ObjectNode) limits.get("search-hour").deepCopy();
    route.remove("resets_in_seconds");
    route.remove("entity_node");
    assertThat(route).isEqualTo(json("""
        {"policy": "search-hour", "scope": "route", "route": "search", "entity": "r:search/c:filed", "kind": "window",
         "requests": 50, "per": "hour", "remaining": 43, "consumed": 7, "leased_out": 0, "resets_at": "%s"}"""
        .formatted(asOf.truncatedTo(ChronoUnit.HOURS).plus(1, ChronoUnit.HOURS))));
    JsonNode bucket = limits.get("gold-1h-bucket");
    assertThat(bucket.path("kind").asText()).isEqualTo("bucket");
    assertThat(bucket.path("burst").asLong()).isEqualTo(100);
    assertThat(bucket.has("consumed")).as("a bucket counts no window").isFalse();
    // One token an hour: nothing refilled yet. A lease that expired before its node gave it back
    // keeps its tokens taken, so the bucket holds at most the burst less what was admitted.
    assertThat(bucket.path("remaining").asLong()).isBetween(1L, 100L - 7);
    assertThat(Instant.parse(bucket.path("resets_at").asText())).isAfter(asOf);

    // The same figures on every node, and the entity is unchanged by being read.
    for (GatewayNode n : cluster.nodes) {
      Map<String, JsonNode> seen = limits(usage(n, "filed"));
      assertThat(seen.get("gold-day").path("consumed").asLong()).isEqualTo(7);
      assertThat(seen.get("search-hour").path("remaining").asLong()).isEqualTo(43);
    }
  }

  @Test
  void readingUsageGrantsNothing() throws Exception {
    GatewayNode c = cluster.nodes.get(2);
    for (GatewayNode n : cluster.nodes) {
      for (int i = 0; i < 3; i++) {
        JsonNode tiny = limits(usage(n, "small")).get("tiny-day");
        assertThat(tiny.path("remaining").asLong()).isEqualTo(5);
        assertThat(tiny.path("leased_out").asLong()).isZero();
      }
    }
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      statuses.add(get(c, "/api", "small-key-0123456789"));
    }
    assertThat(statuses).containsExactly(200, 200, 200, 200, 200, 429, 429, 429);
    JsonNode spent = limits(settledUsage(cluster.nodes.get(0), "small")).get("tiny-day");
    assertThat(spent.path("consumed").asLong()).isEqualTo(5);
    assertThat(spent.path("remaining").asLong()).isZero();
  }

  @Test
  void aConsumerWithoutAPlanHasTheRoutesLimitsAndADirectoryConsumerItsOwn() throws Exception {
    awayFromTheEndOfTheHour();
    JsonNode planless = usage(cluster.nodes.get(1), "planless");
    assertThat(planless.path("plan").isNull()).isTrue();
    assertThat(planless.path("limits")).hasSize(1);
    assertThat(planless.path("limits").get(0).path("entity").asText()).as("by-ip counts IPs, not consumers")
        .isEqualTo("r:search/c:planless");
    assertThat(planless.path("limits").get(0).path("remaining").asLong()).isEqualTo(50);

    AdminNode a = cluster.admin(cluster.nodes.get(0));
    assertThat(a.admin("POST", "/consumers", "{\"id\": \"dir-acme\", \"plan\": \"gold\"}").statusCode()).isEqualTo(201);
    String key = json(a.admin("POST", "/consumers/dir-acme/keys", null).body()).path("key").asText();
    GatewayNode c = cluster.nodes.get(2);
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> get(c, "/api", key) == 200);
    assertThat(get(c, "/api", key)).isEqualTo(200);
    assertThat(get(c, "/api", key)).isEqualTo(200);
    JsonNode acme = settledUsage(cluster.nodes.get(1), "dir-acme");
    assertThat(acme.path("source").asText()).isEqualTo("directory");
    Map<String, JsonNode> limits = limits(acme);
    assertThat(limits.get("gold-day").path("consumed").asLong()).isEqualTo(3);
    assertThat(limits.get("gold-day").path("entity").asText()).isEqualTo("c:dir-acme");
    assertThat(limits.get("search-hour").path("consumed").asLong()).as("no request on /search").isZero();
    assertThat(limits.get("search-hour").path("remaining").asLong()).isEqualTo(50);
  }

  @Test
  void anUnknownConsumerIs404AndUsageIsOnlyRead() {
    AdminNode a = cluster.admin(cluster.nodes.get(0));
    HttpResponse<String> unknown = a.admin("GET", "/consumers/nobody/usage", null);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(problem(unknown)).isEqualTo(json("""
        {"type": "urn:tollgate:problem:unknown-consumer", "title": "No such consumer", "status": 404,
         "detail": "There is no consumer 'nobody', neither in the directory nor in the config file."}"""));
    HttpResponse<String> post = a.admin("POST", "/consumers/filed/usage", "{}");
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET");
    assertThat(a.admin("DELETE", "/cluster", null).headers().firstValue("Allow")).hasValue("GET");
    assertThat(a.admin("GET", "/cluster/members", null).statusCode()).isEqualTo(404);
    assertThat(a.admin("GET", "/consumers//usage", null).statusCode()).isEqualTo(404);
  }

  @Test
  void everyNodeShowsTheSameMembersAndTheShardsAndEntitiesEachRegionHolds() {
    // Entities of a few consumers, spread over the regions.
    for (GatewayNode n : cluster.nodes) {
      assertThat(get(n, "/api", "planless-key-0123456789")).isEqualTo(200);
      assertThat(get(n, "/search", "planless-key-0123456789")).isEqualTo(200);
    }
    Map<String, long[]> held = new HashMap<>();
    long shards = 0;
    long entities = 0;
    for (GatewayNode n : cluster.nodes) {
      ShardRegion.CurrentShardRegionState state = AdminCluster.regionState(n);
      long e = state.getShards().stream().mapToLong(s -> s.getEntityIds().size()).sum();
      held.put(AdminCluster.address(n), new long[] {state.getShards().size(), e});
      shards += state.getShards().size();
      entities += e;
    }
    assertThat(entities).as("the warm-up's and planless's entities at least").isGreaterThanOrEqualTo(3);

    Set<String> leaders = new HashSet<>();
    for (GatewayNode n : cluster.nodes) {
      HttpResponse<String> r = cluster.admin(n).admin("GET", "/cluster", null);
      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode view = json(r.body());
      System.out.println("GET /cluster: " + view);
      assertThat(view.path("self").asText()).isEqualTo(AdminCluster.address(n));
      assertThat(view.path("oldest").asText()).as("the first node formed the cluster")
          .isEqualTo(AdminCluster.address(cluster.nodes.get(0)));
      leaders.add(view.path("leader").asText());
      assertThat(view.path("entity_types")).extracting(JsonNode::asText).contains("ConsumerQuota");
      assertThat(view.path("members")).hasSize(3);
      long shardSum = 0;
      long entitySum = 0;
      for (JsonNode m : view.path("members")) {
        String address = m.path("address").asText();
        assertThat(held).containsKey(address);
        assertThat(m.path("status").asText()).isEqualTo("Up");
        assertThat(m.path("reachable").asBoolean()).isTrue();
        assertThat(m.path("roles")).extracting(JsonNode::asText).contains("dc-default");
        assertThat(m.path("self").asBoolean()).isEqualTo(address.equals(AdminCluster.address(n)));
        assertThat(m.path("oldest").asBoolean()).isEqualTo(address.equals(view.path("oldest").asText()));
        assertThat(m.path("leader").asBoolean()).isEqualTo(address.equals(view.path("leader").asText()));
        JsonNode quota = m.path("sharding").path("ConsumerQuota");
        assertThat(quota.path("answered").asBoolean()).as("%s", quota).isTrue();
        assertThat(quota.path("shards_unanswered").asLong()).isZero();
        assertThat(new long[] {quota.path("shards").asLong(), quota.path("entities").asLong()})
            .as("what %s's region holds", address).containsExactly(held.get(address));
        shardSum += quota.path("shards").asLong();
        entitySum += quota.path("entities").asLong();
      }
      assertThat(shardSum).isEqualTo(shards);
      assertThat(entitySum).isEqualTo(entities);
    }
    assertThat(leaders).as("one leader, seen by all").hasSize(1);
  }
}
