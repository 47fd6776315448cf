package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

  static final Path EXAMPLES = Path.of("../examples");

  @Test
  void minimalExampleMeansWhatItsCommentsSay() throws Exception {
    GatewayConfig config = ConfigLoader.load(EXAMPLES.resolve("minimal.yaml"));

    assertThat(config.upstreams()).containsExactly(Upstream.of(
        "echo", List.of(Target.http("127.0.0.1", 9001), Target.http("127.0.0.1", 9002)), BalancerKind.ROUND_ROBIN));
    // paths: [/echo] is a prefix at a segment boundary; strip_prefix removes it before forwarding
    assertThat(config.routes()).containsExactly(
        Route.of("echo", RouteMatch.paths(PathMatch.prefix("/echo")), "echo").withStripPrefix(true));
  }

  @Test
  void minimalExampleIsExactlyTheDocumentedText() throws Exception {
    assertThat(Files.readString(EXAMPLES.resolve("minimal.yaml"))).isEqualTo("""
        upstreams:
          - name: echo
            targets:
              - url: http://127.0.0.1:9001
              - url: http://127.0.0.1:9002
            balancer: round-robin
        routes:
          - name: echo
            match:
              paths: [/echo]        # /echo and everything below it, at a segment boundary
            strip_prefix: true      # /echo/a?b=1 reaches the upstream as /a?b=1
            upstream: echo
        """);
  }

  @Test
  void everyKeyOfTheFullExampleLandsInItsRecordComponent() throws Exception {
    GatewayConfig config = ConfigLoader.load(EXAMPLES.resolve("full.yaml"));

    assertThat(config.upstreams()).extracting(Upstream::name).containsExactly("orders", "sessions", "assets", "legacy");
    Upstream orders = config.upstream("orders").orElseThrow();
    assertThat(orders).isEqualTo(new Upstream(
        "orders",
        List.of(
            new Target("http", "10.0.1.10", 8080, 3),
            new Target("http", "10.0.1.11", 8080, 3),
            new Target("https", "orders-canary.internal", 8443, 1)),
        BalancerKind.WEIGHTED,
        Optional.empty(),
        HostHeader.preserve(),
        new Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(90)),
        new RetryPolicy(
            3,
            Set.of(RetryPolicy.Condition.CONNECT_FAILURE, RetryPolicy.Condition.RESET, RetryPolicy.Condition.TIMEOUT),
            Set.of(502, 503)),
        Optional.of(new ActiveHealthCheck(
            "/healthz", Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3,
            List.of(new StatusRange(200, 200), new StatusRange(204, 299)))),
        new PassiveHealthCheck(5, Duration.ofSeconds(30)),
        new CircuitBreaker(true, 25, 40, Duration.ofSeconds(20), Duration.ofSeconds(15), 5)));

    Upstream sessions = config.upstream("sessions").orElseThrow();
    assertThat(sessions.targets()).containsExactly(
        Target.http("sessions-a.internal", 7000), Target.http("sessions-b.internal", 7000), Target.http("fd00::12", 7000));
    assertThat(sessions.targets().get(2).url()).isEqualTo("http://[fd00::12]:7000");
    assertThat(sessions.balancer()).isEqualTo(BalancerKind.CONSISTENT_HASH);
    assertThat(sessions.hashOn()).contains(HashKey.header("X-User-Id"));
    assertThat(sessions.hostHeader()).isEqualTo(HostHeader.fixed("sessions.internal:7000"));
    assertThat(sessions.retries()).isEqualTo(new RetryPolicy(0, RetryPolicy.DEFAULT.on(), Set.of()));
    assertThat(sessions.timeouts()).isEqualTo(Timeouts.DEFAULT);
    assertThat(sessions.activeHealthCheck()).isEmpty();
    assertThat(sessions.passiveHealthCheck()).isEqualTo(PassiveHealthCheck.DEFAULT);
    assertThat(sessions.circuitBreaker()).isEqualTo(CircuitBreaker.DEFAULT);

    Upstream assets = config.upstream("assets").orElseThrow();
    assertThat(assets.targets()).containsExactly(
        new Target("https", "assets-1.internal", 443, 1), new Target("https", "assets-2.internal", 443, 1));
    assertThat(assets.balancer()).isEqualTo(BalancerKind.LEAST_REQUESTS);
    assertThat(assets.hostHeader()).isEqualTo(HostHeader.target());
    assertThat(assets.hashOn()).isEmpty();

    Upstream legacy = config.upstream("legacy").orElseThrow();
    assertThat(legacy.targets()).containsExactly(Target.http("192.168.7.20", 80));
    assertThat(legacy.hashOn()).contains(HashKey.clientIp());

    assertThat(config.routes()).extracting(Route::name).containsExactly("orders-v2", "profiles", "assets", "fallback");
    assertThat(config.routes().get(0)).isEqualTo(new Route(
        "orders-v2",
        10,
        new RouteMatch(
            List.of("api.example.com", "*.api.example.com"),
            List.of(PathMatch.prefix("/v2/orders"), PathMatch.exact("/v2/order-count")),
            Set.of("GET", "POST", "PUT"),
            List.of(FieldMatch.exact("X-Api-Version", "2"), FieldMatch.absent("X-Debug")),
            List.of(FieldMatch.regex("tenant", "[a-z0-9-]+"), FieldMatch.present("preview"))),
        true,
        Optional.empty(),
        "orders",
        Optional.of(Duration.ofSeconds(10)),
        OptionalLong.of(2L * 1024 * 1024),
        true,
        Optional.of(new RouteLimits(
            RouteLimits.Key.CONSUMER,
            List.of(Limit.bucket(20, "1s", Duration.ofSeconds(1), 40)),
            OnUnavailable.DENY)),
        new RouteAuth(
            Set.of(RouteAuth.Credential.API_KEY, RouteAuth.Credential.JWT),
            new RouteAuth.ApiKeySource(Optional.of("X-Orders-Key"), Optional.of("api_key"), false),
            Optional.of(new RouteAuth.Allow(List.of("partners"), List.of("ops@example.com"))))));
    assertThat(config.routes().get(1)).isEqualTo(
        Route.of("profiles", RouteMatch.paths(PathMatch.regex("/users/([0-9]+)/profile")), "sessions")
            .withRewrite(new PathRewrite("^/users/([0-9]+)/profile$", "/profiles/$1")));
    assertThat(config.routes().get(2)).isEqualTo(
        Route.of("assets", RouteMatch.paths(PathMatch.prefix("/static"), PathMatch.prefix("/favicon.ico"))
                .withMethods("GET", "HEAD")
                .withHeaders(FieldMatch.regex("Accept-Encoding", ".*gzip.*")), "assets")
            .withPriority(-10)
            .withMaxBodyBytes(0)
            .withRateLimit(new RouteLimits(
                RouteLimits.Key.CLIENT_IP,
                List.of(Limit.window(600, "5m", Duration.ofMinutes(5))),
                OnUnavailable.LOCAL_SHARE)));
    assertThat(config.routes().get(3)).isEqualTo(
        Route.of("fallback", RouteMatch.ANY, "legacy").withPriority(-1000));

    assertThat(config.plans()).containsExactly(
        new Plan("gold",
            List.of(Limit.bucket(100, "second", Duration.ofSeconds(1), 200), Limit.perMonth(1_000_000)),
            OnUnavailable.LOCAL_SHARE),
        new Plan("free",
            List.of(
                Limit.window(1000, "day", Duration.ofDays(1)),
                Limit.bucket(10, "1m", Duration.ofMinutes(1), 10),
                Limit.window(5, "60s", Duration.ofSeconds(60))),
            OnUnavailable.DENY));
    // the key is kept as its digest; a sha256 written in upper case is folded to lower case
    assertThat(config.consumers()).containsExactly(
        new Consumer("acme", Optional.of("gold"), List.of("partners", "emea"), List.of(
            ApiKeyDigest.of("acme-staging-key-7Hq2pLx9Wm4R"),
            ApiKeyDigest.of("acme-prod-key-Zt5Wq8Ne2Rk6"))),
        new Consumer("ops@example.com", Optional.empty(), List.of(
            new ApiKeyDigest("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"))));
    assertThat(config.consumers().get(0).apiKeys().get(1).sha256Hex())
        .isEqualTo("a926664705f24ff29eabf62eb71057ca2e1cee6d955d22ef694166601d2c30b2");
    assertThat(config.toString()).doesNotContain("acme-staging-key-7Hq2pLx9Wm4R");
    assertThat(config.identity()).isEqualTo(new Identity("X-Api-Key", Optional.of("free")));
    assertThat(config.legacyRateLimitHeaders()).isTrue();
    assertThat(config.consumerHeaders()).isEqualTo(new ConsumerHeaders("X-Consumer-Id", "X-Consumer-Groups"));
    assertThat(config.jwtIssuers()).containsExactly(new JwtIssuerSpec(
        "https://idp.example.com/",
        List.of("orders-api"),
        List.of("RS256", "ES256"),
        new JwtIssuerSpec.Jwks(java.net.URI.create("https://idp.example.com/.well-known/jwks.json"),
            Duration.ofMinutes(10), Duration.ofSeconds(30)),
        Duration.ofSeconds(30),
        List.of("email"),
        "sub",
        Optional.of("scope"),
        Optional.of("free")));
  }

  @Test
  void withoutTheNewKeysThereAreNoPlansNoConsumersAndDefaultIdentity() throws Exception {
    GatewayConfig config = ConfigLoader.load(EXAMPLES.resolve("minimal.yaml"));

    assertThat(config.plans()).isEmpty();
    assertThat(config.consumers()).isEmpty();
    assertThat(config.identity()).isEqualTo(Identity.DEFAULT);
    assertThat(config.legacyRateLimitHeaders()).isFalse();
    assertThat(config.routes()).allSatisfy(r -> assertThat(r.rateLimit()).isEmpty());
  }

  @Test
  void periodsTakeEveryWordAndUnitAndLimitsTheirDefaults() throws Exception {
    GatewayConfig config = ConfigLoader.parse("""
        plans:
          - name: p
            limits:
              - {requests: 1, per: second}
              - {requests: 1, per: minute}
              - {requests: 1, per: hour}
              - {requests: 1, per: day}
              - {requests: 1, per: month}
              - {requests: 1, per: 10s}
              - {requests: 1, per: 5m}
              - {requests: 1, per: 2h}
              - {requests: 1000000000000, per: 30d}
              - {requests: 1000000, per: 3600s, burst: 1000000000000}
        upstreams:
          - {name: u, targets: [{url: "http://u"}]}
        routes:
          - {name: r, match: {}, upstream: u, rate_limit: {limits: [{requests: 1, per: 60m, burst: 1}]}}
        api_keys: {}
        anonymous: {}
        rate_limit_headers: {}
        """, "periods.yaml");

    Plan plan = config.plans().get(0);
    assertThat(plan.onUnavailable()).isEqualTo(OnUnavailable.LOCAL_SHARE);
    assertThat(plan.limits()).extracting(l -> l.length().orElse(null)).containsExactly(
        Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(1), null,
        Duration.ofSeconds(10), Duration.ofMinutes(5), Duration.ofHours(2), Duration.ofDays(30),
        Duration.ofHours(1));
    assertThat(plan.limits()).extracting(Limit::per).containsExactly(
        "second", "minute", "hour", "day", "month", "10s", "5m", "2h", "30d", "3600s");
    assertThat(plan.limits().get(9)).isEqualTo(Limit.bucket(1_000_000, "3600s", Duration.ofHours(1), 1_000_000_000_000L));
    assertThat(config.routes().get(0).rateLimit()).contains(new RouteLimits(
        RouteLimits.Key.CONSUMER, List.of(Limit.bucket(1, "60m", Duration.ofHours(1), 1)), OnUnavailable.LOCAL_SHARE));
    assertThat(config.identity()).isEqualTo(Identity.DEFAULT);
    assertThat(config.legacyRateLimitHeaders()).isFalse();
  }

  @Test
  void jsonIsReadLikeYaml() throws Exception {
    String yaml = Files.readString(EXAMPLES.resolve("full.yaml"));
    String json = new ObjectMapper().writeValueAsString(new YAMLMapper().readTree(yaml));
    assertThat(json).startsWith("{\"upstreams\":[");

    assertThat(ConfigLoader.parse(json, "full.json")).isEqualTo(ConfigLoader.parse(yaml, "full.yaml"));
  }

  @Test
  void anEmptyDocumentHasNoUpstreamsAndNoRoutes() throws Exception {
    assertThat(ConfigLoader.parse("", "empty.yaml")).isEqualTo(new GatewayConfig(List.of(), List.of()));
    assertThat(ConfigLoader.parse("# nothing yet\n", "empty.yaml")).isEqualTo(new GatewayConfig(List.of(), List.of()));
    assertThat(ConfigLoader.parse("{}", "empty.json")).isEqualTo(new GatewayConfig(List.of(), List.of()));
  }

  @Test
  void sizesAndDurationsTakeEveryUnit() throws Exception {
    String yaml = """
        upstreams:
          - name: u
            targets: [{url: "http://u"}]
            timeouts: {connect: 250ms, response: 2m, idle: 1h}
            health_check: {passive: {ejection_time: 1d, consecutive_failures: 0}}
        routes:
        %s
        """;
    StringBuilder routes = new StringBuilder();
    String[] sizes = {"0", "1048576", "7B", "2KB", "3MB", "4GB", "5KiB", "6MiB", "7GiB"};
    for (int i = 0; i < sizes.length; i++) {
      routes.append("  - {name: r").append(i).append(", match: {}, upstream: u, max_body: ").append(sizes[i]).append("}\n");
    }
    GatewayConfig config = ConfigLoader.parse(yaml.formatted(routes), "units.yaml");

    assertThat(config.upstreams().get(0).timeouts())
        .isEqualTo(new Timeouts(Duration.ofMillis(250), Duration.ofMinutes(2), Duration.ofHours(1)));
    assertThat(config.upstreams().get(0).passiveHealthCheck()).isEqualTo(new PassiveHealthCheck(0, Duration.ofDays(1)));
    assertThat(config.upstreams().get(0).passiveHealthCheck().enabled()).isFalse();
    assertThat(config.routes()).extracting(r -> r.maxBodyBytes().getAsLong()).containsExactly(
        0L, 1048576L, 7L, 2000L, 3_000_000L, 4_000_000_000L, 5L * 1024, 6L << 20, 7L << 30);
  }

  @Test
  void aCircuitBreakerTakesEveryKeyAndAFailureRateWithOrWithoutItsPercentSign() throws Exception {
    GatewayConfig config = ConfigLoader.parse("""
        upstreams:
          - name: percent
            targets: [{url: "http://a"}]
            circuit_breaker:
              enabled: true
              failure_rate: 100%
              minimum_calls: 1000000
              window: 100ms
              open_duration: 1h
              half_open_probes: 100
          - name: number
            targets: [{url: "http://b"}]
            circuit_breaker: {failure_rate: 1, minimum_calls: 1, window: 3600000ms, open_duration: 0100ms, half_open_probes: 1}
        """, "breaker.yaml");

    assertThat(config.upstreams()).extracting(Upstream::circuitBreaker).containsExactly(
        new CircuitBreaker(true, 100, 1_000_000, Duration.ofMillis(100), Duration.ofHours(1), 100),
        new CircuitBreaker(true, 1, 1, Duration.ofHours(1), Duration.ofMillis(100), 1));
  }

  @Test
  void withoutACircuitBreakerSectionOrWithAnEmptyOneTheBreakerIsOnWithTheDefaults() throws Exception {
    GatewayConfig config = ConfigLoader.parse("""
        upstreams:
          - {name: absent, targets: [{url: "http://a"}]}
          - {name: empty, targets: [{url: "http://b"}], circuit_breaker: {}}
          - {name: some, targets: [{url: "http://c"}], circuit_breaker: {failure_rate: 80%}}
        """, "breaker-defaults.yaml");

    assertThat(config.upstreams()).extracting(Upstream::circuitBreaker).containsExactly(
        CircuitBreaker.DEFAULT,
        CircuitBreaker.DEFAULT,
        new CircuitBreaker(true, 80, 20, Duration.ofSeconds(10), Duration.ofSeconds(30), 3));
    assertThat(CircuitBreaker.DEFAULT)
        .isEqualTo(new CircuitBreaker(true, 50, 20, Duration.ofSeconds(10), Duration.ofSeconds(30), 3));
  }

  @Test
  void enabledFalseTurnsTheBreakerOffAndKeepsTheOtherSettings() throws Exception {
    GatewayConfig config = ConfigLoader.parse("""
        upstreams:
          - {name: disabled, targets: [{url: "http://a"}], circuit_breaker: {enabled: false}}
          - {name: paused, targets: [{url: "http://b"}], circuit_breaker: {enabled: false, window: 1m}}
        """, "breaker-off.yaml");

    assertThat(config.upstreams().get(0).circuitBreaker()).isEqualTo(CircuitBreaker.OFF);
    assertThat(config.upstreams().get(1).circuitBreaker())
        .isEqualTo(new CircuitBreaker(false, 50, 20, Duration.ofMinutes(1), Duration.ofSeconds(30), 3));
  }

  @Test
  void hostsAreLowerCasedAndUrlsNormalised() throws Exception {
    GatewayConfig config = ConfigLoader.parse("""
        upstreams:
          - name: u
            targets: [{url: "https://API.Example.COM/"}, {url: "http://[::1]"}]
        routes:
          - {name: r, match: {hosts: [API.example.com, "*.Example.com"]}, upstream: u}
        """, "case.yaml");

    assertThat(config.upstreams().get(0).targets())
        .containsExactly(new Target("https", "api.example.com", 443, 1), Target.http("::1", 80));
    assertThat(config.routes().get(0).match().hosts()).containsExactly("api.example.com", "*.example.com");
  }

  @Test
  void errorsOfAllSectionsComeTogetherInDocumentOrder() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
        routes:
          - {name: r, match: {}, upstream: nowhere}
        upstreams:
          - {name: u, targets: [{url: "http://u", weight: 0}]}
        """, "order.yaml"));

    assertThat(e.errors()).map(ConfigError::toString).containsExactly(
        "routes[0].upstream: \"nowhere\" (expected: one of the upstream names: u)",
        "upstreams[0].targets[0].weight: 0 (expected: an integer from 1 to 1000)");
  }

  @Test
  void replacementsMayUseEveryValidGroupReference() {
    var regex = java.util.regex.Pattern.compile("^/(?<first>[a-z]+)/([0-9]+)$");
    assertThat(RouteReader.replacementProblem("/$0/$1/$2/${first}/\\$/\\\\", regex)).isEmpty();
    assertThat(RouteReader.replacementProblem("/$3", regex)).isPresent();
    assertThat(RouteReader.replacementProblem("/${second}", regex)).isPresent();
    assertThat(RouteReader.replacementProblem("/\\", regex)).isPresent();
  }

  @Test
  void suggestionsAreOnlyMadeForPlausibleTypos() {
    List<String> keys = RouteReader.KEYS;
    assertThat(DidYouMean.closest("strip_prefx", keys)).contains("strip_prefix");
    assertThat(DidYouMean.closest("upstrem", keys)).contains("upstream");
    assertThat(DidYouMean.closest("prority", keys)).contains("priority");
    assertThat(DidYouMean.closest("plugins", keys)).isEmpty();
    assertThat(DidYouMean.closest("x", keys)).isEmpty();
  }
}
