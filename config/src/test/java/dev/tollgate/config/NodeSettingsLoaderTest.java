package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeSettingsLoaderTest {

  static Properties props(String... kv) {
    Properties p = new Properties();
    for (int i = 0; i < kv.length; i += 2) {
      p.setProperty(kv[i], kv[i + 1]);
    }
    return p;
  }

  static List<String> errors(ThrowingLoad load) {
    try {
      load.run();
    } catch (ConfigException e) {
      return e.errors().stream().map(ConfigError::toString).toList();
    }
    throw new AssertionError("expected a ConfigException");
  }

  interface ThrowingLoad {
    void run() throws ConfigException;
  }

  @Test
  void defaultsComeFromReferenceConf() {
    NodeSettings s = NodeSettingsLoader.defaults();
    assertThat(s.proxy().host()).isEqualTo("0.0.0.0");
    assertThat(s.proxy().port()).isEqualTo(8080);
    assertThat(s.proxy().maxBodyBytes()).isEqualTo(10L << 20);
    assertThat(s.proxy().maxHeaderBytes()).isEqualTo(32 << 10);
    assertThat(s.proxy().maxUriLength()).isEqualTo(8 << 10);
    assertThat(s.proxy().headerReadTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.proxy().trustedProxies()).isEmpty();
    assertThat(s.proxy().requestIdHeader()).isEqualTo("X-Request-Id");
    assertThat(s.upstreamPool().maxConnections()).isEqualTo(512);
    assertThat(s.shutdownGrace()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.cluster().port()).isEqualTo(25520);
    assertThat(s.cluster().seeds()).isEmpty();
    assertThat(s.cluster().downAfter()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.cluster().removalMargin()).isEqualTo(Duration.ofSeconds(1));
    assertThat(s.cluster().downCrashed()).isTrue();
    assertThat(s.admin()).isEqualTo(new NodeSettings.Admin("127.0.0.1", 8081, ""));
    assertThat(s.admin().requiresToken()).isFalse();
  }

  @Test
  void anAdminApiOffLoopbackWithoutATokenIsRefusedNamingTheToken() {
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_ADMIN_HOST", "0.0.0.0"), new Properties()));
    assertThat(errors).containsExactly("tollgate.admin.token: empty, but tollgate.admin.host \"0.0.0.0\" from"
        + " environment variable TOLLGATE_ADMIN_HOST is not a loopback address (expected: a token of at least 16"
        + " printable ASCII characters without spaces, which admin requests then carry as Authorization: Bearer"
        + " <token>, or named tokens in tollgate.admin.tokens; or a loopback tollgate.admin.host such as"
        + " \"127.0.0.1\")");
    // Host names count as off loopback, except localhost: the check asks no DNS.
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(),
        props("tollgate.admin.host", "admin.internal")))).singleElement().asString().startsWith("tollgate.admin.token: empty");
    // The record refuses such settings too, however they are made.
    NodeSettings.Admin loopback = NodeSettingsLoader.defaults().admin();
    assertThatThrownBy(() -> loopback.withHost("10.0.0.5")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tollgate.admin.token: empty, but tollgate.admin.host \"10.0.0.5\" is not a loopback");
  }

  @Test
  void anAdminApiOnLoopbackNeedsNoTokenAndOffLoopbackTakesOne() throws Exception {
    for (String host : List.of("127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]")) {
      assertThat(NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_ADMIN_HOST", host), new Properties())
          .admin().host()).isEqualTo(host);
    }
    for (String host : List.of("0.0.0.0", "10.0.0.5", "::", "128.0.0.1", "327.0.0.1", "localhost.example")) {
      assertThat(NodeSettings.Admin.isLoopback(host)).as(host).isFalse();
    }
    // Taken as it is, not as HOCON, where '#' would start a comment and cut the token short.
    String token = "s3cret#token,with{odd}chars";
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_ADMIN_HOST", "0.0.0.0", "TOLLGATE_ADMIN_TOKEN", token, "TOLLGATE_ADMIN_PORT", "0"), new Properties());
    assertThat(s.admin().token()).isEqualTo(token);
    assertThat(s.admin().port()).isZero();
    assertThat(s.toString()).doesNotContain(token).contains("token=(hidden)");
  }

  @Test
  void aBadAdminTokenIsReportedWithoutShowingIt() {
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_ADMIN_TOKEN", "short one", "TOLLGATE_ADMIN_HOST", "0.0.0.0"), props("tollgate.admin.port", "-1")));
    assertThat(errors).containsExactlyInAnyOrder(
        "tollgate.admin.port: \"-1\" (expected: a port number 0..65535) from system properties",
        "tollgate.admin.token: (hidden) (expected: empty, or at least 16 printable ASCII characters without spaces)"
            + " from environment variable TOLLGATE_ADMIN_TOKEN");
    assertThat(String.join("\n", errors)).doesNotContain("short one");
  }

  @Test
  void namedAdminTokensComeFromTheFileTheEnvironmentAndPropertiesMergedNameByName(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("node.conf");
    Files.writeString(file, """
        tollgate.admin {
          host = "0.0.0.0"
          tokens { ops-alice = "alice-token-0123456789", ci = "overridden-0123456789" }
        }
        """);
    // Taken as it is: '#' starts no comment, '=' after the first belongs to the token.
    String ci = "ci#token=0123456789";
    NodeSettings s = NodeSettingsLoader.load(Optional.of(file),
        Map.of("TOLLGATE_ADMIN_TOKENS", " ci=" + ci + ", deploy_2=deploy-token-0123456789 "),
        props("tollgate.admin.tokens.from-props", "props-token-0123456789"));
    assertThat(s.admin().token()).isEmpty();
    assertThat(s.admin().requiresToken()).as("named tokens alone allow a host off loopback").isTrue();
    assertThat(s.admin().tokens()).containsExactly(Map.entry("ci", ci), Map.entry("deploy_2", "deploy-token-0123456789"),
        Map.entry("from-props", "props-token-0123456789"), Map.entry("ops-alice", "alice-token-0123456789"));
    assertThat(s.admin().clusterTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.toString()).doesNotContain("0123456789").contains("tokens=[ci, deploy_2, from-props, ops-alice] (hidden)");

    NodeSettings both = NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_ADMIN_TOKEN", "single-token-0123456789",
        "TOLLGATE_ADMIN_TOKENS", "ci=" + ci, "TOLLGATE_ADMIN_CLUSTER_TIMEOUT", "2s"), new Properties());
    assertThat(both.admin().namedTokens()).containsExactly(Map.entry("admin", "single-token-0123456789"), Map.entry("ci", ci));
    assertThat(both.admin().clusterTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(NodeSettingsLoader.unknownEnvironmentVariables(Map.of("TOLLGATE_ADMIN_TOKENS", "x"))).isEmpty();
    assertThat(NodeSettingsLoader.defaults().admin().tokens()).isEmpty();
  }

  @Test
  void badNamedAdminTokensAreReportedWithoutShowingThem(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("node.conf");
    Files.writeString(file, """
        tollgate.admin {
          token = "single-token-0123456789"
          cluster-timeout = 0s
          tokens {
            short = "secret-short"
            "with space" = "spaced-name-token-0123456789"
            admin = "reserved-token-0123456789"
            same-as-single = "single-token-0123456789"
            first = "shared-token-0123456789"
            second = "shared-token-0123456789"
            number = 12345678901234567
            ops.alice = "dotted-token-0123456789"
          }
        }
        """);
    List<String> fromFile = errors(() -> NodeSettingsLoader.load(Optional.of(file), Map.of(), new Properties()));
    String at = " from " + file + ": ";
    assertThat(fromFile).hasSize(8);
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.short: (hidden) (expected: at"
        + " least 16 printable ASCII characters without spaces)" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.\"with space\": a token's name"
        + " (expected: a name of 1 to 64 letters, digits, '_' or '-', starting with a letter or digit)" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.admin: a token's name (expected:"
        + " a name other than admin (the name of tollgate.admin.token) and admin-api (what the config history says when"
        + " no token is required))" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.same-as-single: (hidden)"
        + " (expected: a token of this name alone; tollgate.admin.token has the same one)" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.second: (hidden) (expected: a"
        + " token of this name alone; tollgate.admin.tokens.first has the same one)" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.number: (hidden) (expected: a"
        + " quoted string of at least 16 printable ASCII characters without spaces)" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.tokens.ops: (hidden) (expected: a"
        + " quoted string of at least 16 printable ASCII characters without spaces; a name holds no '.')" + at));
    assertThat(fromFile).anySatisfy(e -> assertThat(e).startsWith("tollgate.admin.cluster-timeout: \"0s\"")
        .as("the other settings are still checked"));
    for (String secret : List.of("secret-short", "spaced-name", "reserved-token", "single-token", "shared-token",
        "12345678901234567", "dotted-token")) {
      assertThat(String.join("\n", fromFile)).doesNotContain(secret);
    }

    List<String> fromEnv = errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_ADMIN_TOKENS", "ci=ci-token-0123456789,with,comma-0123456789 ci=again-token-0123456789",
            "TOLLGATE_ADMIN_HOST", "0.0.0.0"), new Properties()));
    assertThat(fromEnv).containsExactly(
        "tollgate.admin.tokens: (hidden) (expected: name=token entries separated by commas or spaces, such as"
            + " \"ci=<token>,ops-alice=<token>\" (a token given here cannot hold a comma); entry 2 of 4 has no name"
            + " before '=') from environment variable TOLLGATE_ADMIN_TOKENS",
        "tollgate.admin.tokens: (hidden) (expected: name=token entries separated by commas or spaces, such as"
            + " \"ci=<token>,ops-alice=<token>\" (a token given here cannot hold a comma); entry 3 of 4 has no name"
            + " before '=') from environment variable TOLLGATE_ADMIN_TOKENS",
        "tollgate.admin.tokens: (hidden) (expected: name=token entries separated by commas or spaces, such as"
            + " \"ci=<token>,ops-alice=<token>\" (a token given here cannot hold a comma); entry 4 of 4 names ci"
            + " again) from environment variable TOLLGATE_ADMIN_TOKENS");
    assertThat(String.join("\n", fromEnv)).doesNotContain("0123456789");
    // The record refuses such tokens too, however they are made.
    NodeSettings.Admin admin = NodeSettingsLoader.defaults().admin();
    assertThatThrownBy(() -> admin.withTokens(Map.of("ci", "short"))).hasMessage(
        "tollgate.admin.tokens.ci: (hidden) (expected: at least 16 printable ASCII characters without spaces)");
    assertThatThrownBy(() -> admin.withTokens(Map.of("admin-api", "long-enough-0123456789")))
        .hasMessageStartingWith("tollgate.admin.tokens: \"admin-api\" (expected: a name other than admin");
  }

  @Test
  void clusterSeedsAreHostPortPairs() throws Exception {
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_CLUSTER_SEEDS", "[\"10.0.0.5:25520\", \"node-b:25521\"]"), new Properties());
    assertThat(s.cluster().seeds()).containsExactly("10.0.0.5:25520", "node-b:25521");
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_CLUSTER_SEEDS", "[\"10.0.0.5\"]"), new Properties()));
    assertThat(errors).singleElement().asString()
        .startsWith("tollgate.cluster.seeds: [\"10.0.0.5\"] (expected: a list of \"host:port\" addresses");
  }

  @Test
  void systemPropertiesBeatEnvironmentWhichBeatsTheFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("node.conf");
    Files.writeString(file, "tollgate.proxy { port = 7000, max-body = 1MiB, idle-timeout = 5s }\n");
    NodeSettings fileOnly = NodeSettingsLoader.load(Optional.of(file), Map.of(), new Properties());
    assertThat(fileOnly.proxy().port()).isEqualTo(7000);
    assertThat(fileOnly.proxy().maxBodyBytes()).isEqualTo(1 << 20);

    NodeSettings env = NodeSettingsLoader.load(Optional.of(file),
        Map.of("TOLLGATE_PROXY_PORT", "7100", "TOLLGATE_PROXY_MAX_BODY", "2MiB"), new Properties());
    assertThat(env.proxy().port()).isEqualTo(7100);
    assertThat(env.proxy().maxBodyBytes()).isEqualTo(2 << 20);
    assertThat(env.proxy().idleTimeout()).isEqualTo(Duration.ofSeconds(5));

    NodeSettings sys = NodeSettingsLoader.load(Optional.of(file),
        Map.of("TOLLGATE_PROXY_PORT", "7100"), props("tollgate.proxy.port", "7200"));
    assertThat(sys.proxy().port()).isEqualTo(7200);
  }

  @Test
  void environmentValuesAreReadAsHocon() throws Exception {
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(), Map.of(
        "TOLLGATE_PROXY_TRUSTED_PROXIES", "[\"10.0.0.0/8\", \"::1\"]",
        "TOLLGATE_PROXY_HOST", "127.0.0.1",
        "TOLLGATE_SHUTDOWN_GRACE_PERIOD", "2s",
        "TOLLGATE_UPSTREAM_POOL_QUEUE_SIZE", "16"), new Properties());
    assertThat(s.proxy().trustedProxies()).extracting(Object::toString).containsExactly("10.0.0.0/8", "::1");
    assertThat(s.proxy().host()).isEqualTo("127.0.0.1");
    assertThat(s.shutdownGrace()).isEqualTo(Duration.ofSeconds(2));
    assertThat(s.upstreamPool().queueSize()).isEqualTo(16);
  }

  @Test
  void accessLogSettingsHaveDefaultsAndTakeVariablesAndProperties() throws Exception {
    assertThat(NodeSettingsLoader.defaults().accessLog()).isEqualTo(NodeSettings.AccessLog.DEFAULT)
        .isEqualTo(new NodeSettings.AccessLog(true, NodeSettings.AccessLog.Format.JSON, "stdout", false, 8192));
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_ACCESS_LOG_FORMAT", "text", "TOLLGATE_ACCESS_LOG_DESTINATION", "/var/log/tollgate/access.log",
            "TOLLGATE_ACCESS_LOG_INCLUDE_QUERY", "true"),
        props("tollgate.access-log.enabled", "false", "tollgate.access-log.queue-size", "16"));
    assertThat(s.accessLog()).isEqualTo(new NodeSettings.AccessLog(false, NodeSettings.AccessLog.Format.TEXT,
        "/var/log/tollgate/access.log", true, 16));
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_ACCESS_LOG_FORMAT", "xml"),
        props("tollgate.access-log.queue-size", "0")))).containsExactlyInAnyOrder(
        "tollgate.access-log.format: \"xml\" (expected: json or text) from environment variable TOLLGATE_ACCESS_LOG_FORMAT",
        "tollgate.access-log.queue-size: \"0\" (expected: a whole number from 1 to 1048576) from system properties");
  }

  @Test
  void everySettingHasItsOwnEnvironmentVariable() {
    Map<String, String> vars = NodeSettingsLoader.environmentVariables();
    assertThat(vars).containsEntry("TOLLGATE_PROXY_PORT", "tollgate.proxy.port")
        .containsEntry("TOLLGATE_PROXY_MAX_BODY", "tollgate.proxy.max-body")
        .containsEntry("TOLLGATE_UPSTREAM_POOL_MAX_CONNECTIONS", "tollgate.upstream-pool.max-connections")
        .containsEntry("TOLLGATE_ADMIN_TOKENS", "tollgate.admin.tokens")
        .containsEntry("TOLLGATE_MANAGEMENT_PORT", "tollgate.management.port")
        .containsEntry("TOLLGATE_SHUTDOWN_READY_DELAY", "tollgate.shutdown.ready-delay")
        .containsEntry("TOLLGATE_METRICS_PORT", "tollgate.metrics.port");
    assertThat(new HashSet<>(vars.values())).hasSize(vars.size());
    assertThat(vars).hasSize(57);
  }

  @Test
  void downingCrashedMembersAtOnceCanBeTurnedOff() throws Exception {
    NodeSettings off = NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_CLUSTER_DOWN_CRASHED", "false"),
        new Properties());
    assertThat(off.cluster().downCrashed()).isFalse();
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_CLUSTER_DOWN_CRASHED", "soon"),
        new Properties()))).containsExactly(
        "tollgate.cluster.down-crashed: \"soon\" (expected: true or false) from environment variable"
            + " TOLLGATE_CLUSTER_DOWN_CRASHED");
  }

  @Test
  void discoveryIsSeedsByDefaultAndBootstrapSettingsComeFromVariablesAndProperties() throws Exception {
    NodeSettings.Cluster defaults = NodeSettingsLoader.defaults().cluster();
    assertThat(defaults.discovery()).isEqualTo(NodeSettings.Cluster.Discovery.SEEDS);
    assertThat(defaults.bootstraps()).isFalse();
    assertThat(defaults.bootstrap()).isEqualTo(new NodeSettings.Bootstrap("tollgate", 2, "app=%s", List.of()));

    NodeSettings k8s = NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "kubernetes-api",
            "TOLLGATE_CLUSTER_HOST", "10.0.0.5",
            "TOLLGATE_MANAGEMENT_HOST", "10.0.0.5",
            "TOLLGATE_CLUSTER_BOOTSTRAP_SERVICE_NAME", "edge",
            "TOLLGATE_CLUSTER_BOOTSTRAP_POD_LABEL_SELECTOR", "app.kubernetes.io/name=%s"),
        props("tollgate.cluster.bootstrap.required-contact-points", "3"));
    assertThat(k8s.cluster().discovery()).isEqualTo(NodeSettings.Cluster.Discovery.KUBERNETES_API);
    assertThat(k8s.cluster().bootstrap())
        .isEqualTo(new NodeSettings.Bootstrap("edge", 3, "app.kubernetes.io/name=%s", List.of()));

    NodeSettings config = NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "config",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"10.0.0.5:8558\", \"10.0.0.6:8558\"]"),
        props());
    assertThat(config.cluster().discovery()).isEqualTo(NodeSettings.Cluster.Discovery.CONFIG);
    assertThat(config.cluster().bootstrap().contactPoints()).containsExactly("10.0.0.5:8558", "10.0.0.6:8558");

    NodeSettings dns = NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_DIRECTORY_SERVICE_DNS", "tollgate-peers.edge.svc.cluster.local"), props());
    assertThat(dns.directory().serviceDns()).isEqualTo("tollgate-peers.edge.svc.cluster.local");
    assertThat(NodeSettingsLoader.defaults().directory().serviceDns()).isEmpty();
  }

  @Test
  void bootstrapSettingsThatContradictTheDiscoveryAreReportedTogether() {
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "kubernetes-api",
            "TOLLGATE_CLUSTER_SEEDS", "[\"10.0.0.5:25520\"]",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"10.0.0.5:8558\"]",
            "TOLLGATE_DIRECTORY_MEMBERS", "[\"10.0.0.5:5701\"]",
            "TOLLGATE_DIRECTORY_SERVICE_DNS", "tollgate-peers"),
        props("tollgate.cluster.bootstrap.required-contact-points", "0",
            "tollgate.cluster.bootstrap.service-name", "no spaces please")))).containsExactlyInAnyOrder(
        "tollgate.cluster.seeds: [\"10.0.0.5:25520\"] (expected: empty, as tollgate.cluster.discovery is kubernetes-api:"
            + " the cluster forms through cluster bootstrap; or tollgate.cluster.discovery = seeds)"
            + " from environment variable TOLLGATE_CLUSTER_SEEDS",
        "tollgate.cluster.bootstrap.contact-points: [\"10.0.0.5:8558\"] (expected: empty, as tollgate.cluster.discovery"
            + " is kubernetes-api; contact points are given only with tollgate.cluster.discovery = config)"
            + " from environment variable TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS",
        "tollgate.cluster.bootstrap.required-contact-points: \"0\" (expected: a whole number from 1 to 100)"
            + " from system properties",
        "tollgate.cluster.bootstrap.service-name: \"no spaces please\" (expected: a name such as \"tollgate\""
            + " (letters, digits, '-', '.' and '_')) from system properties",
        "tollgate.directory.service-dns: \"tollgate-peers\" (expected: empty while tollgate.directory.members lists"
            + " members; give one of the two) from environment variable TOLLGATE_DIRECTORY_SERVICE_DNS",
        // the defaults, loopback, reported as they are: no "from"
        "tollgate.management.host: \"127.0.0.1\" (expected: the pod's own IP, such as status.podIP from the downward"
            + " API, as tollgate.cluster.discovery is kubernetes-api: it is this node's contact point for cluster"
            + " bootstrap)",
        "tollgate.cluster.host: \"127.0.0.1\" (expected: the pod's own IP, such as status.podIP from the downward API,"
            + " as tollgate.cluster.discovery is kubernetes-api: the other pods reach this node's remoting there)");
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "config",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"10.0.0.5:8558\"]"),
        props()))).containsExactly(
        "tollgate.cluster.bootstrap.contact-points: [\"10.0.0.5:8558\"] (expected: at least 2"
            + " (tollgate.cluster.bootstrap.required-contact-points) \"host:port\" Pekko Management addresses,"
            + " as tollgate.cluster.discovery is config) from environment variable TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS");
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_CLUSTER_DISCOVERY", "dns"),
        props("tollgate.directory.service-dns", "not a name!")))).containsExactlyInAnyOrder(
        "tollgate.cluster.discovery: \"dns\" (expected: seeds, kubernetes-api or config)"
            + " from environment variable TOLLGATE_CLUSTER_DISCOVERY",
        "tollgate.directory.service-dns: \"not a name!\" (expected: empty, or a DNS name such as"
            + " \"tollgate-peers.default.svc.cluster.local\") from system properties");
  }

  @Test
  void aContactPointListThatDoesNotParseOrAnUnknownDiscoveryIsReportedOnceNotAgainAsAContradiction() {
    // config discovery with a malformed list: the list's own error, not also "at least 2".
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "config",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"10.0.0.5\", \"10.0.0.6:8558\"]"),
        props()))).containsExactly(
        "tollgate.cluster.bootstrap.contact-points: [\"10.0.0.5\",\"10.0.0.6:8558\"] (expected: a list of \"host:port\""
            + " Pekko Management addresses such as [\"10.0.0.5:8558\"]) from environment variable"
            + " TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS");
    // An unknown discovery is not taken for seeds when judging the contact points.
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "kubernetes",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"10.0.0.5:8558\", \"10.0.0.6:8558\"]"),
        props()))).containsExactly(
        "tollgate.cluster.discovery: \"kubernetes\" (expected: seeds, kubernetes-api or config)"
            + " from environment variable TOLLGATE_CLUSTER_DISCOVERY");
  }

  @Test
  void withBootstrapTheManagementHostIsTheContactPointSoAWildcardIsAnErrorAndSeedsDoNotMind() throws Exception {
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "config",
            "TOLLGATE_MANAGEMENT_HOST", "0.0.0.0",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"10.0.0.5:8558\", \"10.0.0.6:8558\"]"),
        props()))).containsExactly(
        "tollgate.management.host: \"0.0.0.0\" (expected: this node's own address as the other nodes reach it, not a"
            + " wildcard, as tollgate.cluster.discovery is config: it is this node's contact point for cluster"
            + " bootstrap) from environment variable TOLLGATE_MANAGEMENT_HOST");
    // config discovery on one machine: loopback is fine
    assertThat(NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "config",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"127.0.0.1:8558\", \"127.0.0.1:8559\"]"),
        props()).management().host()).isEqualTo("127.0.0.1");
    assertThat(NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_MANAGEMENT_HOST", "0.0.0.0"), props())
        .management().host()).isEqualTo("0.0.0.0");
  }

  @Test
  void bootstrapWithOneRequiredContactPointNeedsOnlyOneAndKubernetesDiscoveryNeedsNone() throws Exception {
    NodeSettings one = NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_CLUSTER_DISCOVERY", "config",
            "TOLLGATE_CLUSTER_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "1",
            "TOLLGATE_CLUSTER_BOOTSTRAP_CONTACT_POINTS", "[\"127.0.0.1:8558\"]"),
        props());
    assertThat(one.cluster().bootstraps()).isTrue();
    assertThat(one.cluster().bootstrap().requiredContactPoints()).isEqualTo(1);
    NodeSettings k8s = NodeSettingsLoader.load(Optional.empty(), Map.of("TOLLGATE_CLUSTER_DISCOVERY", "kubernetes-api",
        "TOLLGATE_CLUSTER_HOST", "10.1.2.3", "TOLLGATE_MANAGEMENT_HOST", "10.1.2.3"), props());
    assertThat(k8s.cluster().bootstraps()).isTrue();
    assertThat(k8s.cluster().bootstrap()).isEqualTo(NodeSettings.Bootstrap.DEFAULT);
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_CLUSTER_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "101"), props()))).containsExactly(
        "tollgate.cluster.bootstrap.required-contact-points: 101 (expected: a whole number from 1 to 100)"
            + " from environment variable TOLLGATE_CLUSTER_BOOTSTRAP_REQUIRED_CONTACT_POINTS");
  }

  @Test
  void metricsAreServedOnLoopbackPort9095ByDefaultAndTakeVariablesAndProperties() throws Exception {
    assertThat(NodeSettingsLoader.defaults().metrics())
        .isEqualTo(new NodeSettings.Metrics(true, "127.0.0.1", 9095, Duration.ofSeconds(5)));
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_METRICS_HOST", "0.0.0.0", "TOLLGATE_METRICS_PORT", "19095"),
        props("tollgate.metrics.enabled", "false", "tollgate.metrics.interval", "250ms"));
    assertThat(s.metrics()).isEqualTo(new NodeSettings.Metrics(false, "0.0.0.0", 19095, Duration.ofMillis(250)));
    assertThat(errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_METRICS_PORT", "70000", "TOLLGATE_METRICS_ENABLED", "sometimes"),
        props("tollgate.metrics.interval", "0s")))).containsExactlyInAnyOrder(
        "tollgate.metrics.port: 70000 (expected: a port number 0..65535) from environment variable TOLLGATE_METRICS_PORT",
        "tollgate.metrics.enabled: \"sometimes\" (expected: true or false) from environment variable TOLLGATE_METRICS_ENABLED",
        "tollgate.metrics.interval: \"0s\" (expected: a positive duration such as 5s) from system properties");
  }

  @Test
  void proxyProtocolIsOffByDefaultAndTrustsLoopback() {
    NodeSettings.ProxyProtocol pp = NodeSettingsLoader.defaults().proxy().proxyProtocol();
    assertThat(pp.enabled()).isFalse();
    assertThat(pp.trusted()).extracting(Object::toString).containsExactly("127.0.0.1/32", "::1/128");
    assertThat(pp.headerTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(pp).isEqualTo(NodeSettings.ProxyProtocol.OFF);
  }

  @Test
  void proxyProtocolSettingsComeFromVariablesAndProperties() throws Exception {
    Map<String, String> vars = NodeSettingsLoader.environmentVariables();
    assertThat(vars).containsEntry("TOLLGATE_PROXY_PROXY_PROTOCOL_ENABLED", "tollgate.proxy.proxy-protocol.enabled")
        .containsEntry("TOLLGATE_PROXY_PROXY_PROTOCOL_TRUSTED", "tollgate.proxy.proxy-protocol.trusted")
        .containsEntry("TOLLGATE_PROXY_PROXY_PROTOCOL_HEADER_TIMEOUT", "tollgate.proxy.proxy-protocol.header-timeout");
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(), Map.of(
            "TOLLGATE_PROXY_PROXY_PROTOCOL_ENABLED", "true",
            "TOLLGATE_PROXY_PROXY_PROTOCOL_TRUSTED", "[\"10.0.0.0/8\", \"fd00::/8\"]"),
        props("tollgate.proxy.proxy-protocol.header-timeout", "2s"));
    NodeSettings.ProxyProtocol pp = s.proxy().proxyProtocol();
    assertThat(pp.enabled()).isTrue();
    assertThat(pp.trusted()).extracting(Object::toString).containsExactly("10.0.0.0/8", "fd00::/8");
    assertThat(pp.headerTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(pp.isTrusted(java.net.InetAddress.getByName("10.1.2.3"))).isTrue();
    assertThat(pp.isTrusted(java.net.InetAddress.getByName("127.0.0.1"))).isFalse();
  }

  @Test
  void badProxyProtocolSettingsAreReportedTogether() {
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_PROXY_PROXY_PROTOCOL_ENABLED", "sometimes"),
        props("tollgate.proxy.proxy-protocol.trusted.0", "lb.internal",
            "tollgate.proxy.proxy-protocol.header-timeout", "0s",
            "tollgate.proxy.proxy-protocol.enable", "true")));
    assertThat(errors).containsExactlyInAnyOrder(
        "tollgate.proxy.proxy-protocol.enabled: \"sometimes\" (expected: true or false) from environment variable"
            + " TOLLGATE_PROXY_PROXY_PROTOCOL_ENABLED",
        "tollgate.proxy.proxy-protocol.trusted: {\"0\":\"lb.internal\"} (expected: a list of IP addresses or CIDR blocks"
            + " such as [\"10.0.0.0/8\"]) from system properties",
        "tollgate.proxy.proxy-protocol.header-timeout: \"0s\" (expected: a positive duration such as 5s) from system"
            + " properties",
        "tollgate.proxy.proxy-protocol.enable: unknown setting (from system properties; did you mean"
            + " tollgate.proxy.proxy-protocol.enabled?)");
  }

  @Test
  void reportsEveryBadValueAtOnceWithWhereItCameFrom() {
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.empty(),
        Map.of("TOLLGATE_PROXY_PORT", "eighty"),
        props("tollgate.proxy.idle-timeout", "soon", "tollgate.proxy.trusted-proxies.0", "proxy.internal")));
    assertThat(errors).containsExactlyInAnyOrder(
        "tollgate.proxy.port: \"eighty\" (expected: a port number 0..65535) from environment variable TOLLGATE_PROXY_PORT",
        "tollgate.proxy.idle-timeout: \"soon\" (expected: a positive duration such as 60s) from system properties",
        "tollgate.proxy.trusted-proxies: {\"0\":\"proxy.internal\"} (expected: a list of IP addresses or CIDR blocks such as [\"10.0.0.0/8\"]) from system properties");
  }

  @Test
  void rangesAreChecked() {
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.empty(), Map.of(),
        props("tollgate.proxy.port", "70000", "tollgate.upstream-pool.max-connections", "0",
            "tollgate.proxy.max-header-bytes", "10")));
    assertThat(errors).hasSize(3);
    assertThat(errors).anyMatch(e -> e.startsWith("tollgate.proxy.port: \"70000\" (expected: a port number 0..65535)"));
    assertThat(errors).anyMatch(e -> e.startsWith("tollgate.upstream-pool.max-connections: \"0\" (expected: a whole number from 1 to 65536)"));
    assertThat(errors).anyMatch(e -> e.startsWith("tollgate.proxy.max-header-bytes: \"10\" (expected: a size from 1KiB to 1MiB"));
  }

  @Test
  void unknownSettingsAreErrorsWithASuggestion(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("node.conf");
    Files.writeString(file, "tollgate.proxy.prot = 9000\n");
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.of(file), Map.of(), new Properties()));
    assertThat(errors).singleElement().asString()
        .startsWith("tollgate.proxy.prot: unknown setting")
        .contains("did you mean tollgate.proxy.port?");
  }

  @Test
  void aMissingSettingsFileIsAnError(@TempDir Path dir) {
    List<String> errors = errors(() -> NodeSettingsLoader.load(Optional.of(dir.resolve("absent.conf")), Map.of(), new Properties()));
    assertThat(errors).singleElement().asString().endsWith("no such file (expected: a HOCON settings file)");
  }

  @Test
  void unknownEnvironmentVariablesAreWarningsNotErrors() throws Exception {
    Map<String, String> env = Map.of("TOLLGATE_PROXY_PROT", "1", "TOLLGATE_LOG_LEVEL", "DEBUG", "HOME", "/root");
    assertThat(NodeSettingsLoader.load(Optional.empty(), env, new Properties()).proxy().port()).isEqualTo(8080);
    assertThat(NodeSettingsLoader.unknownEnvironmentVariables(env))
        .singleElement().asString().startsWith("TOLLGATE_PROXY_PROT names no setting; did you mean TOLLGATE_PROXY_PORT?");
  }

  @Test
  void overridesCarryPekkoSettingsAndNothingElse() {
    var overrides = NodeSettingsLoader.overrides(Optional.empty(), Map.of(),
        props("pekko.loglevel", "DEBUG", "java.home", "/x", "tollgate.proxy.port", "1"));
    assertThat(overrides.getString("pekko.loglevel")).isEqualTo("DEBUG");
    assertThat(overrides.hasPath("java.home")).isFalse();
    assertThatThrownBy(() -> overrides.getString("tollgate.proxy.host")).isInstanceOf(com.typesafe.config.ConfigException.Missing.class);
  }
}
