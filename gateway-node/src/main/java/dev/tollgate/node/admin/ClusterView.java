package dev.tollgate.node.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.pattern.Patterns;

/**
 * {@code GET /cluster}: this node's view of the Pekko Cluster (its members, their status, roles and
 * reachability, the leader and the oldest member) and how many shards and entities of each sharded
 * entity type every member hosts.
 *
 * <p>Shard statistics come from Pekko's {@link GetClusterShardingStats}, which the shard coordinator
 * answers by asking every region. When one region does not answer in time the coordinator answers
 * with no region at all, so each member the answer leaves out is asked directly (its region's
 * {@code GetShardRegionStats}), again within the timeout; a member that does not answer that either
 * is reported as such, and the rest of the answer stands.
 */
final class ClusterView {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** The coordinator asks the regions within the timeout; its answer needs a moment more to come back. */
  private static final Duration MARGIN = Duration.ofMillis(500);

  private final ActorSystem<?> system;
  private final Duration timeout;

  ClusterView(ActorSystem<?> system, Duration timeout) {
    this.system = Objects.requireNonNull(system, "system");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  /** What one member's region of one entity type said, or that it did not answer. */
  private record RegionStats(ShardRegion.ShardRegionStats stats, String unanswered) {}

  CompletionStage<ObjectNode> read() {
    Cluster cluster = Cluster.get(system);
    ClusterEvent.CurrentClusterState state = cluster.state();
    List<Member> members = new ArrayList<>();
    state.getMembers().forEach(members::add);
    Set<String> types = new TreeSet<>(
        org.apache.pekko.cluster.sharding.ClusterSharding.get(system.classicSystem()).getShardTypeNames());
    Map<String, CompletableFuture<Map<Address, RegionStats>>> byType = new HashMap<>();
    for (String type : types) {
      byType.put(type, stats(type, members).toCompletableFuture());
    }
    return CompletableFuture.allOf(byType.values().toArray(CompletableFuture[]::new)).thenApply(done -> {
      Member self = cluster.selfMember();
      Member oldest = oldest(members, self);
      ObjectNode json = JSON.createObjectNode().put("self", self.address().toString());
      putAddress(json, "leader", state.getLeader());
      putAddress(json, "oldest", oldest == null ? null : oldest.address());
      ArrayNode typeList = json.putArray("entity_types");
      types.forEach(typeList::add);
      ArrayNode list = json.putArray("members");
      for (Member m : members) {
        ObjectNode member = list.addObject().put("address", m.address().toString())
            .put("status", m.status().toString())
            .put("reachable", !state.getUnreachable().contains(m));
        ArrayNode roles = member.putArray("roles");
        new TreeSet<>(m.getRoles()).forEach(roles::add);
        member.put("self", m.equals(self)).put("leader", m.address().equals(state.getLeader()))
            .put("oldest", m.equals(oldest));
        ObjectNode sharding = member.putObject("sharding");
        for (String type : types) {
          sharding.set(type, regionJson(byType.get(type).join().get(m.address())));
        }
      }
      return json;
    });
  }

  /**
   * Every member's statistics of one entity type: the coordinator's answer, then the members it
   * left out asked one by one.
   */
  private CompletionStage<Map<Address, RegionStats>> stats(String type, List<Member> members) {
    CompletionStage<Map<Address, ShardRegion.ShardRegionStats>> fromCoordinator = AskPattern
        .<ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(ClusterSharding.get(system).shardState(),
            replyTo -> new GetClusterShardingStats(EntityTypeKey.create(Object.class, type), timeout, replyTo),
            timeout.plus(MARGIN), system.scheduler())
        .handle((answer, failure) -> failure == null ? answer.getRegions() : Map.of());
    return fromCoordinator.thenCompose(regions -> {
      Map<Address, CompletableFuture<RegionStats>> each = new HashMap<>();
      for (Member m : members) {
        ShardRegion.ShardRegionStats known = regions.get(m.address());
        each.put(m.address(), known != null
            ? CompletableFuture.completedFuture(new RegionStats(known, null))
            : askRegion(m.address(), type).toCompletableFuture());
      }
      return CompletableFuture.allOf(each.values().toArray(CompletableFuture[]::new)).thenApply(done -> {
        Map<Address, RegionStats> out = new HashMap<>();
        each.forEach((address, stats) -> out.put(address, stats.join()));
        return out;
      });
    });
  }

  /** One member's region of {@code type}, asked directly: Pekko names it {@code /system/sharding/<type>}. */
  private CompletionStage<RegionStats> askRegion(Address member, String type) {
    String path = member + "/system/sharding/" + URLEncoder.encode(type, StandardCharsets.UTF_8);
    return Patterns.ask(system.classicSystem().actorSelection(path), ShardRegion.getRegionStatsInstance(), timeout)
        .handle((answer, failure) -> answer instanceof ShardRegion.ShardRegionStats stats
            ? new RegionStats(stats, null)
            : new RegionStats(null, "its shard region did not answer within " + seconds(timeout)));
  }

  private static ObjectNode regionJson(RegionStats region) {
    ObjectNode json = JSON.createObjectNode();
    if (region == null || region.stats() == null) {
      return json.put("answered", false)
          .put("reason", region == null ? "not asked" : region.unanswered());
    }
    long entities = 0;
    for (Object count : region.stats().getStats().values()) {
      entities += ((Number) count).longValue();
    }
    int failed = region.stats().getFailed().size();
    return json.put("answered", true)
        .put("shards", region.stats().getStats().size() + failed)
        .put("entities", entities)
        .put("shards_unanswered", failed);
  }

  /** The oldest member of this node's data center that is or was up: where cluster singletons run. */
  private static Member oldest(List<Member> members, Member self) {
    Member oldest = null;
    for (Member m : members) {
      MemberStatus s = m.status();
      boolean wasUp = s == MemberStatus.up() || s == MemberStatus.leaving() || s == MemberStatus.exiting()
          || s == MemberStatus.shuttingDown() || s == MemberStatus.shutDown(); // PreparingForShutdown, ReadyForShutdown
      if (wasUp && m.dataCenter().equals(self.dataCenter()) && (oldest == null || m.isOlderThan(oldest))) {
        oldest = m;
      }
    }
    return oldest;
  }

  private static void putAddress(ObjectNode json, String field, Address address) {
    if (address == null) {
      json.putNull(field);
    } else {
      json.put(field, address.toString());
    }
  }

  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
