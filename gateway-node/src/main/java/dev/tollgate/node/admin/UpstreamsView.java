package dev.tollgate.node.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.cluster.upstream.GuardSpec;
import dev.tollgate.cluster.upstream.TargetBoard;
import dev.tollgate.cluster.upstream.TargetStatus;
import dev.tollgate.node.upstream.UpstreamTarget;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What {@code GET /upstreams} shows: every upstream of the config version in service and, per
 * target, the verdict of its guard as this node's replica holds it (health, breaker, since when,
 * why) next to this node's own view (requests in flight, passive ejection, whether its balancers
 * would pick it now). Reads only local state: it answers at once, and as this node routes.
 */
public final class UpstreamsView {

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final Supplier<Map<String, List<UpstreamTarget>>> targets;
  private final TargetBoard board;

  /**
   * @param targets each upstream's targets in the version in service, in the config's order
   * @param board this node's side of the guards: the replica of their statuses, and forced opens
   */
  public UpstreamsView(Supplier<Map<String, List<UpstreamTarget>>> targets, TargetBoard board) {
    this.targets = Objects.requireNonNull(targets, "targets");
    this.board = Objects.requireNonNull(board, "board");
  }

  TargetBoard board() {
    return board;
  }

  ObjectNode all() {
    ObjectNode root = JSON.objectNode();
    ArrayNode list = root.putArray("upstreams");
    targets.get().forEach((name, ts) -> list.add(upstream(name, ts)));
    return root;
  }

  Optional<ObjectNode> one(String name) {
    List<UpstreamTarget> ts = targets.get().get(name);
    return ts == null ? Optional.empty() : Optional.of(upstream(name, ts));
  }

  /** The id of target {@code target} ({@code host:port}) of upstream {@code name}, when the config has it. */
  Optional<String> targetId(String name, String target) {
    List<UpstreamTarget> ts = targets.get().get(name);
    if (ts == null) {
      return Optional.empty();
    }
    String id = GuardSpec.id(name, target);
    return ts.stream().anyMatch(t -> t.id().equals(id)) ? Optional.of(id) : Optional.empty();
  }

  boolean hasUpstream(String name) {
    return targets.get().containsKey(name);
  }

  private ObjectNode upstream(String name, List<UpstreamTarget> ts) {
    ObjectNode u = JSON.objectNode().put("name", name);
    int routable = 0;
    ArrayNode list = u.putArray("targets");
    Map<String, TargetStatus> statuses = board.statuses();
    for (UpstreamTarget t : ts) {
      ObjectNode j = list.addObject();
      j.put("target", t.target().authority()).put("url", t.target().url()).put("weight", t.target().weight());
      boolean admits = t.admits();
      if (admits) {
        routable++;
      }
      j.put("available", admits).put("in_flight", t.inFlight()).put("ejected", t.isEjected());
      TargetStatus s = statuses.get(t.id());
      if (s == null) {
        // The guard has not published yet (it starts with the first config that has the target).
        j.put("health", "UNKNOWN").put("breaker", "CLOSED").putNull("reason");
        continue;
      }
      status(j, s);
    }
    u.put("available_targets", routable);
    return u;
  }

  static ObjectNode status(ObjectNode j, TargetStatus s) {
    j.put("health", s.health().name()).put("health_since", Instant.ofEpochMilli(s.healthSinceMillis()).toString());
    j.put("breaker", s.breaker().name()).put("breaker_since", Instant.ofEpochMilli(s.breakerSinceMillis()).toString());
    if (s.openUntilMillis() > 0) {
      j.put("open_until", Instant.ofEpochMilli(s.openUntilMillis()).toString());
    }
    j.put("epoch", s.epoch()).put("reason", s.reason());
    return j;
  }

  static ObjectNode statusJson(TargetStatus s) {
    return status(JSON.objectNode().put("upstream", s.upstream()).put("target", s.target()), s);
  }
}
