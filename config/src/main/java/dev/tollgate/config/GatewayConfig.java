package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The declarative configuration of a gateway: its upstreams, the routes that lead to them, the
 * plans and consumers whose limits apply, and how callers identify themselves. Immutable; produced
 * only by {@link ConfigLoader} after validation, so every reference (a route's upstream, a
 * consumer's plan, the anonymous plan) exists.
 *
 * @param legacyRateLimitHeaders also send {@code X-RateLimit-Limit}, {@code -Remaining} and {@code
 *     -Reset} beside the standard {@code RateLimit} and {@code RateLimit-Policy}
 * @param jwtIssuers the issuers whose JWTs routes accepting {@code jwt} take
 * @param consumerHeaders the headers in which upstreams learn who called
 */
public record GatewayConfig(
    List<Upstream> upstreams,
    List<Route> routes,
    List<Plan> plans,
    List<Consumer> consumers,
    Identity identity,
    List<JwtIssuerSpec> jwtIssuers,
    boolean legacyRateLimitHeaders,
    ConsumerHeaders consumerHeaders) {

  public GatewayConfig {
    upstreams = List.copyOf(Objects.requireNonNull(upstreams, "upstreams"));
    routes = List.copyOf(Objects.requireNonNull(routes, "routes"));
    plans = List.copyOf(Objects.requireNonNull(plans, "plans"));
    consumers = List.copyOf(Objects.requireNonNull(consumers, "consumers"));
    Objects.requireNonNull(identity, "identity");
    jwtIssuers = List.copyOf(Objects.requireNonNull(jwtIssuers, "jwtIssuers"));
    Objects.requireNonNull(consumerHeaders, "consumerHeaders");
  }

  /** Upstreams and routes only: no plans, no consumers, default identity settings. */
  public GatewayConfig(List<Upstream> upstreams, List<Route> routes) {
    this(upstreams, routes, List.of(), List.of(), Identity.DEFAULT, List.of(), false, ConsumerHeaders.DEFAULT);
  }

  public Optional<Upstream> upstream(String name) {
    return upstreams.stream().filter(u -> u.name().equals(name)).findFirst();
  }

  public Optional<Plan> plan(String name) {
    return plans.stream().filter(p -> p.name().equals(name)).findFirst();
  }
}
