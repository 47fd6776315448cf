package dev.tollgate.node.proxy;

import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.JwtIssuerSpec;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.Target;
import dev.tollgate.config.Upstream;
import dev.tollgate.node.identity.ApiKeyDirectory;
import dev.tollgate.node.identity.RouteGuard;
import dev.tollgate.node.identity.jwt.JwtIssuer;
import dev.tollgate.node.identity.jwt.JwtVerifier;
import dev.tollgate.node.identity.jwt.KeySource;
import dev.tollgate.node.identity.jwt.SignatureAlgorithm;
import dev.tollgate.node.identity.StaticApiKeys;
import dev.tollgate.node.quota.QuotaPolicy;
import dev.tollgate.node.route.RouteTable;
import dev.tollgate.node.upstream.ActiveHealthChecker;
import dev.tollgate.node.upstream.Balancers;
import dev.tollgate.node.upstream.LocalUpstreamStatus;
import dev.tollgate.node.upstream.UpstreamTarget;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * One config version made ready for requests: the route table, every upstream's balancer and
 * pools, its active health checks, who callers are and which limits they meet. Immutable once built; a new version is swapped in whole, and
 * requests in flight finish on the version they started with.
 */
final class CompiledConfig implements AutoCloseable {

  private final GatewayConfig source;
  private final RouteTable<CompiledRoute> routes;
  private final List<ActiveHealthChecker> healthCheckers;
  private final QuotaPolicy quotas;
  /** The consumer headers' names in lower case, removed from what clients send. */
  private final String consumerIdHeader;
  private final String consumerGroupsHeader;

  private CompiledConfig(GatewayConfig source, RouteTable<CompiledRoute> routes, List<ActiveHealthChecker> healthCheckers) {
    this.source = source;
    this.routes = routes;
    this.healthCheckers = healthCheckers;
    this.quotas = new QuotaPolicy(source);
    this.consumerIdHeader = source.consumerHeaders().id().toLowerCase(java.util.Locale.ROOT);
    this.consumerGroupsHeader = source.consumerHeaders().groups().toLowerCase(java.util.Locale.ROOT);
  }

  static CompiledConfig compile(GatewayConfig config, ActorSystem<?> system, NodeSettings settings, TargetPools pools,
      ApiKeyDirectory directory) {
    Map<String, UpstreamRuntime> upstreams = new HashMap<>();
    List<ActiveHealthChecker> checkers = new ArrayList<>();
    for (Upstream upstream : config.upstreams()) {
      List<UpstreamTarget> targets = new ArrayList<>();
      for (Target t : upstream.targets()) {
        targets.add(new UpstreamTarget(upstream.name(), t, upstream.passiveHealthCheck()));
      }
      LocalUpstreamStatus status = new LocalUpstreamStatus();
      upstreams.put(upstream.name(), new UpstreamRuntime(upstream, targets, Balancers.create(upstream, targets, status), pools));
      upstream.activeHealthCheck().ifPresent(check -> checkers.add(ActiveHealthChecker.start(system, upstream, targets, status)));
    }
    ApiKeyDirectory keys = new StaticApiKeys(config).orElse(directory);
    JwtVerifier tokens = config.jwtIssuers().isEmpty() ? null
        : JwtVerifier.create(config.jwtIssuers().stream().map(CompiledConfig::issuer).toList(), java.time.Clock.systemUTC());
    Map<String, java.util.Optional<String>> issuerPlans = new HashMap<>();
    config.jwtIssuers().forEach(i -> issuerPlans.put(i.issuer(), i.plan()));
    RouteTable<CompiledRoute> table = RouteTable.compile(config.routes(),
        route -> new CompiledRoute(route, upstreams.get(route.upstream()), settings.proxy(),
            new RouteGuard(route.auth(), config.identity().apiKeyHeader(), keys, tokens, issuerPlans)));
    return new CompiledConfig(config, table, List.copyOf(checkers));
  }

  /** A verifier's issuer from the file's: the key source built, the algorithms named. */
  static JwtIssuer issuer(JwtIssuerSpec spec) {
    KeySource keys;
    if (spec.keys() instanceof JwtIssuerSpec.Jwks jwks) {
      keys = new KeySource.Jwks(jwks.url(), jwks.maxAge(), jwks.refreshInterval());
    } else if (spec.keys() instanceof JwtIssuerSpec.Jwk jwk) {
      keys = KeySource.StaticKeys.parseJwk(jwk.json());
    } else if (spec.keys() instanceof JwtIssuerSpec.Pem pem) {
      keys = KeySource.StaticKeys.parsePem(pem.text());
    } else {
      keys = new KeySource.HmacSecret(
          ((JwtIssuerSpec.HmacSecret) spec.keys()).secret().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    java.util.Set<SignatureAlgorithm> algorithms = spec.algorithms().stream()
        .map(name -> SignatureAlgorithm.named(name).orElseThrow(() -> new IllegalArgumentException("algorithm " + name)))
        .collect(java.util.stream.Collectors.toSet());
    return new JwtIssuer(spec.issuer(), java.util.Set.copyOf(spec.audiences()), algorithms, keys, spec.clockSkew(),
        spec.requiredClaims(), spec.consumerClaim(), spec.groupsClaim());
  }

  GatewayConfig source() {
    return source;
  }

  RouteTable<CompiledRoute> routes() {
    return routes;
  }

  /** Whether a header (lower-case name) is one in which upstreams learn who called; clients may not send it. */
  boolean isConsumerHeader(String lowerCaseName) {
    return lowerCaseName.equals(consumerIdHeader) || lowerCaseName.equals(consumerGroupsHeader);
  }

  QuotaPolicy quotas() {
    return quotas;
  }

  boolean legacyRateLimitHeaders() {
    return source.legacyRateLimitHeaders();
  }

  /** Stops this version's health checks; its pools stay, shared with other versions. */
  @Override
  public void close() {
    healthCheckers.forEach(ActiveHealthChecker::close);
  }
}
