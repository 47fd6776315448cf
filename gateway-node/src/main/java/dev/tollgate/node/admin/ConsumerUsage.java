package dev.tollgate.node.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.cluster.quota.ConsumerQuota;
import dev.tollgate.cluster.quota.LimitSpec;
import dev.tollgate.cluster.quota.QuotaScope;
import dev.tollgate.cluster.quota.QuotaUsage;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.Route;
import dev.tollgate.config.RouteLimits;
import dev.tollgate.node.identity.Caller;
import dev.tollgate.node.quota.QuotaPolicy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code GET /consumers/{id}/usage}: every limit that applies to a consumer (its plan's, and those of
 * each route whose {@code rate_limit} counts by consumer) as its {@code ConsumerQuota} entity holds
 * it, read with {@link ConsumerQuota.GetUsage}, which grants and stores nothing. The scopes are the
 * proxy's own ({@link QuotaPolicy}), so this reads the very entities requests are counted in.
 *
 * <p>Remaining is the entity's figure: what it could still grant. Tokens it has leased out to nodes
 * count as spent until they come back or expire, whether or not requests were admitted with them
 * yet, so the consumer can make at least {@code remaining} more requests in the window, and at most
 * {@code remaining + leased_out}.
 */
final class ConsumerUsage {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A consumer as the admin API found it, in the directory or in the config file. */
  record Found(String id, Optional<String> plan, List<String> groups, String source) {}

  /** The answer, or the entities that did not answer in time (then there is no answer). */
  record Read(ObjectNode json, List<String> unanswered) {}

  private record Scope(QuotaScope scope, String kind, String name) {}

  private final QuotaUsage quota;
  private final Duration timeout;
  private final Clock clock;

  ConsumerUsage(QuotaUsage quota, Duration timeout, Clock clock) {
    this.quota = Objects.requireNonNull(quota, "quota");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  CompletionStage<Read> read(GatewayConfig config, Found consumer) {
    List<Scope> scopes = scopes(config, consumer);
    List<CompletableFuture<ConsumerQuota.Usage>> answers = new ArrayList<>();
    for (Scope s : scopes) {
      answers.add(quota.usage(s.scope().entityId(), s.scope().limits(), timeout).toCompletableFuture());
    }
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).handle((done, failure) -> {
      List<String> unanswered = new ArrayList<>();
      for (int i = 0; i < scopes.size(); i++) {
        if (answers.get(i).isCompletedExceptionally()) {
          unanswered.add(scopes.get(i).scope().entityId());
        }
      }
      if (!unanswered.isEmpty()) {
        return new Read(null, unanswered);
      }
      Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
      ObjectNode json = JSON.createObjectNode().put("consumer", consumer.id()).put("source", consumer.source());
      consumer.plan().ifPresentOrElse(p -> json.put("plan", p), () -> json.putNull("plan"));
      json.put("as_of", now.toString());
      ArrayNode limits = json.putArray("limits");
      for (int i = 0; i < scopes.size(); i++) {
        addLimits(limits, scopes.get(i), answers.get(i).join(), now);
      }
      return new Read(json, List.of());
    });
  }

  /** The plan's scope, then each consumer-keyed route's, in the config's order; as the proxy builds them. */
  private static List<Scope> scopes(GatewayConfig config, Found consumer) {
    QuotaPolicy policy = new QuotaPolicy(config);
    Caller.Consumer caller = new Caller.Consumer(consumer.id(), consumer.plan(), consumer.groups());
    List<Scope> scopes = new ArrayList<>();
    // No route has an empty name: this asks for the plan's scope alone. Consumers are not counted by IP.
    for (QuotaScope s : policy.scopes(caller, "", "-")) {
      scopes.add(new Scope(s, "plan", consumer.plan().orElseThrow()));
    }
    for (Route route : config.routes()) {
      if (route.rateLimit().map(r -> r.by() == RouteLimits.Key.CONSUMER).orElse(false)) {
        for (QuotaScope s : policy.scopes(caller, route.name(), "-")) {
          if (s.entityId().startsWith("r:")) {
            scopes.add(new Scope(s, "route", route.name()));
          }
        }
      }
    }
    return scopes;
  }

  private static void addLimits(ArrayNode limits, Scope scope, ConsumerQuota.Usage usage, Instant now) {
    QuotaScope s = scope.scope();
    for (int i = 0; i < s.limits().size(); i++) {
      LimitSpec spec = s.limits().get(i);
      ConsumerQuota.LimitUsage u = usage.limits().get(i);
      if (!u.limitId().equals(spec.id())) {
        throw new IllegalStateException("entity " + s.entityId() + " answered for " + u.limitId() + ", not " + spec.id());
      }
      ObjectNode limit = limits.addObject().put("policy", s.names().get(i)).put("scope", scope.kind())
          .put(scope.kind(), scope.name()).put("entity", s.entityId()).put("entity_node", usage.node())
          .put("kind", spec.isBucket() ? "bucket" : "window")
          .put("requests", spec.requests()).put("per", spec.per());
      if (spec.isBucket()) {
        limit.put("burst", spec.burst());
      }
      limit.put("remaining", u.remaining());
      if (!spec.isBucket()) {
        limit.put("consumed", u.consumed());
      }
      limit.put("leased_out", u.leasedOut())
          .put("resets_at", u.resetAt().truncatedTo(ChronoUnit.MILLIS).toString())
          .put("resets_in_seconds", secondsUntil(now, u.resetAt()));
    }
  }

  /** Whole seconds from {@code now} until {@code then}, rounded up, as {@code RateLimit}'s {@code t} is. */
  static long secondsUntil(Instant now, Instant then) {
    long millis = Duration.between(now, then).toMillis();
    return millis <= 0 ? 0 : (millis + 999) / 1000;
  }
}
