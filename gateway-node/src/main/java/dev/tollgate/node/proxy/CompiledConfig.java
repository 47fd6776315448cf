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
import dev.tollgate.node.metrics.Metrics;
import dev.tollgate.node.quota.QuotaPolicy;
import dev.tollgate.node.route.RouteTable;
import dev.tollgate.cluster.upstream.GuardSpec;
import dev.tollgate.cluster.upstream.TargetBoard;
import dev.tollgate.cluster.upstream.TargetHealth;
import dev.tollgate.node.upstream.Balancers;
import dev.tollgate.node.upstream.UpstreamStatus;
import dev.tollgate.node.upstream.UpstreamTarget;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One config version made ready for requests: the route table, every upstream's balancer and
 * pools, each target's handle on its guard (health, breaker), who callers are and which limits
 * they meet. Immutable once built; a new version is swapped in whole, and requests in flight
 * finish on the version they started with.
 */
final class CompiledConfig implements AutoCloseable {

  private final GatewayConfig source;
  private final RouteTable<CompiledRoute> routes;
  private final long version;
  /** Each upstream's targets as this version's balancers hold them, in the config's order. */
  private final Map<String, List<UpstreamTarget>> targets;
  private final QuotaPolicy quotas;
  /** The consumer headers' names in lower case, removed from what clients send. */
  private final String consumerIdHeader;
  private final String consumerGroupsHeader;

  private CompiledConfig(GatewayConfig source, long version, RouteTable<CompiledRoute> routes,
      Map<String, List<UpstreamTarget>> targets) {
    this.source = source;
    this.version = version;
    this.targets = targets;
    this.routes = routes;
    this.quotas = new QuotaPolicy(source);
    this.consumerIdHeader = source.consumerHeaders().id().toLowerCase(java.util.Locale.ROOT);
    this.consumerGroupsHeader = source.consumerHeaders().groups().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * @param version the config version, as the cluster's store numbers it (0 for a config given
   *     whole at start); the guards keep the settings of the highest version
   * @param board this node's side of the upstream guards: the config's targets become its current ones
   * @param metrics where each route and upstream gets its instruments, once per version
   */
  static CompiledConfig compile(GatewayConfig config, long version, NodeSettings settings, TargetPools pools,
      ApiKeyDirectory directory, TargetBoard board, Metrics metrics) {
    List<GuardSpec> specs = new ArrayList<>();
    for (Upstream upstream : config.upstreams()) {
      for (Target t : upstream.targets()) {
        specs.add(GuardSpec.of(upstream, t, version));
      }
    }
    Map<String, TargetHealth> health = board.activate(version, specs);
    Map<String, UpstreamRuntime> upstreams = new HashMap<>();
    Map<String, List<UpstreamTarget>> byUpstream = new java.util.LinkedHashMap<>();
    for (Upstream upstream : config.upstreams()) {
      List<UpstreamTarget> targets = new ArrayList<>();
      for (Target t : upstream.targets()) {
        targets.add(new UpstreamTarget(upstream.name(), t, upstream.passiveHealthCheck(),
            health.get(GuardSpec.id(upstream.name(), t.authority())), System::nanoTime));
      }
      byUpstream.put(upstream.name(), List.copyOf(targets));
      upstreams.put(upstream.name(),
          new UpstreamRuntime(upstream, targets, Balancers.create(upstream, targets, UpstreamStatus.GUARDED), pools,
              metrics.upstream(upstream.name())));
    }
    ApiKeyDirectory keys = new StaticApiKeys(config).orElse(directory);
    JwtVerifier tokens = config.jwtIssuers().isEmpty() ? null
        : JwtVerifier.create(config.jwtIssuers().stream().map(CompiledConfig::issuer).toList(), java.time.Clock.systemUTC());
    Map<String, java.util.Optional<String>> issuerPlans = new HashMap<>();
    config.jwtIssuers().forEach(i -> issuerPlans.put(i.issuer(), i.plan()));
    RouteTable<CompiledRoute> table = RouteTable.compile(config.routes(),
        route -> new CompiledRoute(route, upstreams.get(route.upstream()), settings.proxy(),
            new RouteGuard(route.auth(), config.identity().apiKeyHeader(), keys, tokens, issuerPlans),
            metrics.route(route.name())));
    return new CompiledConfig(config, version, table, java.util.Collections.unmodifiableMap(byUpstream));
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

  long version() {
    return version;
  }

  Map<String, List<UpstreamTarget>> targets() {
    return targets;
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

  /**
   * This version is out of service. Its pools stay, shared with other versions, and so do the
   * guards of its targets: the board retires those the new version dropped.
   */
  @Override
  public void close() {}
}
