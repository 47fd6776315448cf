package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeSettingsLoaderTest {

  static final NodeSettings DEFAULTS = new NodeSettings(
      new NodeSettings.Proxy("0.0.0.0", 8080, 10L << 20, 32 << 10, 8 << 10,
          Duration.ofSeconds(10), Duration.ofSeconds(60), List.of(), "X-Request-Id"),
      new NodeSettings.UpstreamPool(512, 4096),
      Duration.ofSeconds(30));

  @TempDir
  Path dir;

  private Path file(String hocon) throws IOException {
    Path f = dir.resolve("node.conf");
    Files.writeString(f, hocon);
    return f;
  }

  private static Properties props(String... keyValues) {
    Properties p = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  private static List<String> errors(Optional<Path> file, Map<String, String> env, Properties props) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> NodeSettingsLoader.load(file, env, props));
    assertThat(e).as("settings must be rejected").isNotNull();
    return e.errors().stream().map(ConfigError::toString).toList();
  }

  @Test
  void referenceConfAloneGivesTheDocumentedDefaults() throws Exception {
    assertThat(NodeSettingsLoader.load(Optional.empty(), Map.of(), new Properties())).isEqualTo(DEFAULTS);
  }

  @Test
  void theSettingsFileOverridesReferenceConf() throws Exception {
    Path f = file("tollgate.proxy.port = 9080\ntollgate { shutdown.grace-period = 5s }\n");
    NodeSettings s = NodeSettingsLoader.load(Optional.of(f), Map.of(), new Properties());
    assertThat(s).isEqualTo(DEFAULTS.withProxy(DEFAULTS.proxy().withPort(9080)).withShutdownGrace(Duration.ofSeconds(5)));
  }

  @Test
  void environmentVariablesOverrideTheFile() throws Exception {
    Path f = file("tollgate.proxy.port = 9080\ntollgate.proxy.max-body = 1KiB\n");
    NodeSettings s = NodeSettingsLoader.load(Optional.of(f), Map.of("TOLLGATE_PROXY_PORT", "9081"), new Properties());
    assertThat(s.proxy().port()).isEqualTo(9081);
    assertThat(s.proxy().maxBodyBytes()).isEqualTo(1024);
  }

  @Test
  void systemPropertiesOverrideEnvironmentVariables() throws Exception {
    Path f = file("tollgate.proxy.port = 9080\n");
    NodeSettings s = NodeSettingsLoader.load(
        Optional.of(f),
        Map.of("TOLLGATE_PROXY_PORT", "9081", "TOLLGATE_UPSTREAM_POOL_QUEUE_SIZE", "10"),
        props("tollgate.proxy.port", "9082"));
    assertThat(s.proxy().port()).isEqualTo(9082);
    assertThat(s.upstreamPool().queueSize()).isEqualTo(10);
  }

  @Test
  void everySettingHasItsOwnEnvironmentVariable() {
    Config reference = ConfigFactory.parseResources("reference.conf").getConfig("tollgate");
    Map<String, String> vars = NodeSettingsLoader.environmentVariables();

    assertThat(vars).hasSize(reference.entrySet().size());
    assertThat(Set.copyOf(vars.values())).as("no two settings share a variable").hasSize(vars.size());
    assertThat(vars).containsEntry("TOLLGATE_PROXY_PORT", "tollgate.proxy.port")
        .containsEntry("TOLLGATE_PROXY_MAX_BODY", "tollgate.proxy.max-body")
        .containsEntry("TOLLGATE_PROXY_TRUSTED_PROXIES", "tollgate.proxy.trusted-proxies")
        .containsEntry("TOLLGATE_UPSTREAM_POOL_MAX_CONNECTIONS", "tollgate.upstream-pool.max-connections")
        .containsEntry("TOLLGATE_SHUTDOWN_GRACE_PERIOD", "tollgate.shutdown.grace-period");
    assertThat(NodeSettingsLoader.envVarName("tollgate.proxy.header-read-timeout"))
        .isEqualTo("TOLLGATE_PROXY_HEADER_READ_TIMEOUT");
  }

  @Test
  void environmentValuesAreHoconValues() throws Exception {
    NodeSettings s = NodeSettingsLoader.load(Optional.empty(), Map.of(
        "TOLLGATE_PROXY_TRUSTED_PROXIES", "[\"10.0.0.0/8\", \"::1\"]",
        "TOLLGATE_PROXY_MAX_BODY", "1MiB",
        "TOLLGATE_PROXY_HOST", "127.0.0.1",
        "TOLLGATE_PROXY_REQUEST_ID_HEADER", "X-Trace-Id",
        "TOLLGATE_PROXY_HEADER_READ_TIMEOUT", "500ms",
        "TOLLGATE_SHUTDOWN_GRACE_PERIOD", "\"0s\""), new Properties());

    assertThat(s.proxy().trustedProxies()).containsExactly(CidrRange.parse("10.0.0.0/8"), CidrRange.parse("::1"));
    assertThat(s.proxy().maxBodyBytes()).isEqualTo(1 << 20);
    assertThat(s.proxy().host()).isEqualTo("127.0.0.1");
    assertThat(s.proxy().requestIdHeader()).isEqualTo("X-Trace-Id");
    assertThat(s.proxy().headerReadTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(s.shutdownGrace()).isZero();
  }

  @Test
  void aStringValueIsTakenVerbatimNotAsHocon() {
    assertThat(NodeSettingsLoader.hoconValue("http://a/b # c", "test").unwrapped()).isEqualTo("http://a/b # c");
    assertThat(NodeSettingsLoader.hoconValue("${HOME}", "test").unwrapped()).isEqualTo("${HOME}");
    assertThat(NodeSettingsLoader.hoconValue("8080", "test").unwrapped()).isEqualTo(8080);
    assertThat(NodeSettingsLoader.hoconValue("[a, b]", "test").unwrapped()).isEqualTo(List.of("a", "b"));
  }

  @Test
  void systemPropertyValuesAreHoconValuesToo() throws Exception {
    NodeSettings s = NodeSettingsLoader.load(
        Optional.empty(), Map.of(), props("tollgate.proxy.trusted-proxies", "[\"192.168.0.0/16\"]"));
    assertThat(s.proxy().trustedProxies()).containsExactly(CidrRange.parse("192.168.0.0/16"));
  }

  @Test
  void everyBadValueIsReportedAtOnceWithWhatWasExpected() throws Exception {
    Path f = file("""
        tollgate {
          proxy {
            max-body = lots
            trusted-proxies = ["10.0.0.0/8", "10.0.0.0/33", "example.com"]
            header-read-timeout = 0s
          }
          upstream-pool.max-connections = 0
        }
        """);
    assertThat(errors(Optional.of(f), Map.of("TOLLGATE_PROXY_PORT", "eighty", "TOLLGATE_PROXY_HOST", "not a host"),
        props("tollgate.proxy.request-id-header", "X Request Id", "tollgate.shutdown.grace-period", "-1s")))
        .containsExactly(
            "tollgate.proxy.host: \"not a host\" (expected: an address to listen on, such as 0.0.0.0, 127.0.0.1 or ::)",
            "tollgate.proxy.port: \"eighty\" (expected: a port number 0..65535)",
            "tollgate.proxy.max-body: \"lots\" (expected: a size such as 10MiB, 512KiB or 1048576)",
            "tollgate.proxy.header-read-timeout: \"0s\" (expected: a positive duration such as 10s, 500ms or 1m)",
            "tollgate.proxy.trusted-proxies[1]: \"10.0.0.0/33\" (expected: an IP address or CIDR block such as 10.0.0.0/8; prefix length must be 0..32)",
            "tollgate.proxy.trusted-proxies[2]: \"example.com\" (expected: an IP address or CIDR block such as 10.0.0.0/8; not an IP address or CIDR block)",
            "tollgate.proxy.request-id-header: \"X Request Id\" (expected: an HTTP header name such as X-Request-Id)",
            "tollgate.upstream-pool.max-connections: 0 (expected: a whole number of at least 1)",
            "tollgate.shutdown.grace-period: \"-1s\" (expected: a duration such as 30s, 500ms or 0s)");
  }

  @Test
  void sizesAndPortsOutOfRangeAreErrors() {
    assertThat(errors(Optional.empty(), Map.of(
        "TOLLGATE_PROXY_PORT", "65536",
        "TOLLGATE_PROXY_MAX_HEADER_BYTES", "4GiB",
        "TOLLGATE_PROXY_MAX_URI_LENGTH", "0",
        "TOLLGATE_PROXY_TRUSTED_PROXIES", "10.0.0.0/8"), new Properties()))
        .containsExactly(
            "tollgate.proxy.port: 65536 (expected: a port number 0..65535)",
            "tollgate.proxy.max-header-bytes: \"4GiB\" (expected: a size such as 32KiB, from 1 byte to less than 2GiB)",
            "tollgate.proxy.max-uri-length: 0 (expected: a size such as 8KiB, from 1 byte to less than 2GiB)",
            "tollgate.proxy.trusted-proxies: \"10.0.0.0/8\" (expected: a list of IP addresses or CIDR blocks such as [\"10.0.0.0/8\"])");
  }

  @Test
  void unknownKeysInTheFileAndInSystemPropertiesAreErrorsWithASuggestion() throws Exception {
    Path f = file("""
        tollgate {
          proxy { prot = 9080 }
          upstream-pol { max-connections = 5 }
        }
        pekko.loglevel = DEBUG
        """);
    assertThat(errors(Optional.of(f), Map.of(), props("tollgate.shutdown.grace", "5s", "tollgate.metrics", "on")))
        .containsExactly(
            "tollgate.proxy.prot: unknown key (expected one of: header-read-timeout, host, idle-timeout, max-body, "
                + "max-header-bytes, max-uri-length, port, request-id-header, trusted-proxies; did you mean port?)",
            "tollgate.upstream-pol: unknown key (expected one of: proxy, shutdown, upstream-pool; did you mean upstream-pool?)",
            "tollgate.metrics: unknown key (expected one of: proxy, shutdown, upstream-pool)",
            "tollgate.shutdown.grace: unknown key (expected one of: grace-period; did you mean grace-period?)");
  }

  @Test
  void aSectionReplacedByAValueIsOneError() throws Exception {
    assertThat(errors(Optional.of(file("tollgate.upstream-pool = 5\n")), Map.of(), new Properties()))
        .containsExactly("tollgate.upstream-pool: 5 (expected: a section with max-connections, queue-size)");
  }

  @Test
  void unknownEnvironmentVariablesAreOnlyWarnings() throws Exception {
    Map<String, String> env = Map.of("TOLLGATE_PROXY_PROT", "9080", "TOLLGATE_SETTINGS", "/etc/tollgate/node.conf",
        "TOLLGATE_COLOUR", "blue", "PATH", "/usr/bin");

    assertThat(NodeSettingsLoader.load(Optional.empty(), env, new Properties())).isEqualTo(DEFAULTS);
    List<String> warnings = NodeSettingsLoader.warnings(env);
    assertThat(warnings).hasSize(3);
    assertThat(warnings.get(0)).startsWith("TOLLGATE_COLOUR: not a Tollgate setting, ignored (the settings are ");
    assertThat(warnings.get(1))
        .isEqualTo("TOLLGATE_PROXY_PROT: not a Tollgate setting, ignored (did you mean TOLLGATE_PROXY_PORT?)");
    assertThat(warnings.get(2)).startsWith("TOLLGATE_SETTINGS: not a Tollgate setting, ignored");
    assertThat(NodeSettingsLoader.warnings(env, Set.of("TOLLGATE_SETTINGS", "TOLLGATE_COLOUR"))).hasSize(1);
  }

  @Test
  void aMissingOrBrokenFileIsAnError() throws Exception {
    Path missing = dir.resolve("missing.conf");
    assertThat(errors(Optional.of(missing), Map.of(), new Properties())).containsExactly(missing + ": no such file");

    Path broken = file("tollgate {\n  proxy.port = 1\n");
    assertThat(errors(Optional.of(broken), Map.of(), new Properties()))
        .containsExactly(broken + ":3: expecting a close parentheses ')' here, not: end of file");
  }

  @Test
  void theEffectiveConfigCarriesPekkoOverridesWithTheSamePrecedence() throws Exception {
    Path f = file("""
        pekko.loglevel = DEBUG
        pekko.actor.provider = cluster
        tollgate.proxy.port = 9080
        """);
    Config c = NodeSettingsLoader.effective(Optional.of(f), Map.of("TOLLGATE_PROXY_PORT", "9081"),
        props("pekko.actor.provider", "local", "tollgate.proxy.host", "127.0.0.1"));

    assertThat(c.getString("pekko.loglevel")).isEqualTo("DEBUG");
    assertThat(c.getString("pekko.actor.provider")).isEqualTo("local");
    assertThat(c.getInt("tollgate.proxy.port")).isEqualTo(9081);
    assertThat(c.getString("tollgate.proxy.host")).isEqualTo("127.0.0.1");
    assertThat(c.getString("tollgate.proxy.request-id-header")).isEqualTo("X-Request-Id");
  }

  @Test
  void everySettingInReferenceConfIsCommented() {
    Config reference = ConfigFactory.parseResources("reference.conf").getConfig("tollgate");
    reference.entrySet().forEach(e ->
        assertThat(e.getValue().origin().comments()).as("comment above tollgate.%s", e.getKey()).isNotEmpty());
  }
}
