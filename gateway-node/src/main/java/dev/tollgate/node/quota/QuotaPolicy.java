package dev.tollgate.node.quota;

import dev.tollgate.cluster.quota.LimitSpec;
import dev.tollgate.cluster.quota.QuotaScope;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.Limit;
import dev.tollgate.config.OnUnavailable;
import dev.tollgate.config.Plan;
import dev.tollgate.config.Route;
import dev.tollgate.config.RouteLimits;
import dev.tollgate.node.identity.Caller;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which limits a request meets, compiled once per config version: the caller's plan (a consumer's
 * own, or the anonymous plan per client IP), then the route's own limits per consumer or per client
 * IP. Each set is one {@link QuotaScope}, owned by one {@code ConsumerQuota} entity:
 *
 * <ul>
 *   <li>{@code c:<consumer>} or {@code ip:<address>}: the plan's limits. The entity belongs to the
 *       caller, not the plan, so a consumer moved to another plan keeps what it spent in windows of
 *       the same length.
 *   <li>{@code r:<route>/c:<consumer>} or {@code r:<route>/ip:<address>}: a route's limits.
 * </ul>
 *
 * <p>Scopes of consumers are built once and reused; scopes keyed by client IP are built per request.
 * Thread-safe.
 */
public final class QuotaPolicy {

  /** A set of limits with their policy names, ready to become a scope for any caller. */
  private record LimitSet(List<LimitSpec> specs, List<String> names, OnUnavailable onUnavailable) {

    static LimitSet of(String owner, List<Limit> limits, OnUnavailable onUnavailable) {
      List<LimitSpec> specs = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (Limit limit : limits) {
        specs.add(LimitSpec.of(limit));
        names.add(owner + "-" + limit.per() + (limit.isBucket() ? "-bucket" : ""));
      }
      return new LimitSet(List.copyOf(specs), List.copyOf(names), onUnavailable);
    }

    QuotaScope scope(String entityId) {
      return new QuotaScope(entityId, specs, names, onUnavailable);
    }
  }

  private final Map<String, LimitSet> plans = new HashMap<>();
  private final Optional<LimitSet> anonymousPlan;
  private final Map<String, LimitSet> routes = new HashMap<>();
  private final Map<String, RouteLimits.Key> routeKeys = new HashMap<>();
  private final ConcurrentHashMap<String, QuotaScope> consumerScopes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, QuotaScope> routeConsumerScopes = new ConcurrentHashMap<>();

  public QuotaPolicy(GatewayConfig config) {
    for (Plan plan : config.plans()) {
      plans.put(plan.name(), LimitSet.of(plan.name(), plan.limits(), plan.onUnavailable()));
    }
    anonymousPlan = config.identity().anonymousPlan().map(plans::get);
    for (Route route : config.routes()) {
      route.rateLimit().ifPresent(r -> {
        routes.put(route.name(), LimitSet.of(route.name(), r.limits(), r.onUnavailable()));
        routeKeys.put(route.name(), r.by());
      });
    }
  }

  /** Whether no request meets any limit under this config. */
  public boolean isEmpty() {
    return plans.isEmpty() && routes.isEmpty();
  }

  /** The scopes a request of {@code caller} on {@code route} from {@code clientIp} meets; often none. */
  public List<QuotaScope> scopes(Caller caller, String route, String clientIp) {
    QuotaScope plan = planScope(caller, clientIp);
    QuotaScope own = routeScope(caller, route, clientIp);
    if (plan == null) {
      return own == null ? List.of() : List.of(own);
    }
    return own == null ? List.of(plan) : List.of(plan, own);
  }

  private QuotaScope planScope(Caller caller, String clientIp) {
    if (caller instanceof Caller.Consumer c) {
      if (c.plan().isEmpty()) {
        return null;
      }
      LimitSet set = plans.get(c.plan().get());
      return set == null ? null : consumerScopes.computeIfAbsent(c.id(), id -> set.scope("c:" + id));
    }
    return anonymousPlan.map(set -> set.scope("ip:" + clientIp)).orElse(null);
  }

  private QuotaScope routeScope(Caller caller, String route, String clientIp) {
    LimitSet set = routes.get(route);
    if (set == null) {
      return null;
    }
    if (caller instanceof Caller.Consumer c && routeKeys.get(route) == RouteLimits.Key.CONSUMER) {
      return routeConsumerScopes.computeIfAbsent(route + "/" + c.id(), key -> set.scope("r:" + route + "/c:" + c.id()));
    }
    return set.scope("r:" + route + "/ip:" + clientIp);
  }
}
