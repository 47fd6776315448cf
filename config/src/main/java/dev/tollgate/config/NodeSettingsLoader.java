package dev.tollgate.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Reads {@link NodeSettings} from HOCON. Precedence, highest first: {@code -D} system properties,
 * {@code TOLLGATE_*} environment variables, the settings file, {@code reference.conf}.
 *
 * <p>Every setting {@code tollgate.a.b-c} has the environment variable {@code TOLLGATE_A_B_C}: the
 * path after {@code tollgate.} in upper case, with {@code .} and {@code -} as {@code _}. Values are
 * read as HOCON, so {@code TOLLGATE_PROXY_TRUSTED_PROXIES='["10.0.0.0/8"]'} and
 * {@code TOLLGATE_PROXY_MAX_BODY=1GiB} work.
 *
 * <p>Unknown {@code tollgate.*} keys are errors; all errors are reported at once.
 */
public final class NodeSettingsLoader {

  private static final String ROOT = "tollgate";
  private static final String ENV_PREFIX = "TOLLGATE_";
  /** Variables with our prefix that are not settings. */
  private static final Set<String> NOT_SETTINGS = Set.of("TOLLGATE_LOG_LEVEL", "TOLLGATE_JAVA_OPTS");
  /**
   * Secrets, whose variables are taken as they are: read as HOCON, a {@code #} would start a
   * comment and silently cut the rest off, and errors must not show them.
   */
  private static final Set<String> SECRETS = Set.of("tollgate.admin.token");
  /**
   * Settings that are maps of names the user chooses: their keys are not checked against {@code
   * reference.conf}, and their variables hold {@code name=value} entries.
   */
  private static final Set<String> MAPS = Set.of("tollgate.admin.tokens");
  private static final String TOKENS = "tollgate.admin.tokens";
  private static final String TOKENS_VARIABLE_EXPECTED = "name=token entries separated by commas or spaces, such as"
      + " \"ci=<token>,ops-alice=<token>\" (a token given here cannot hold a comma)";

  private NodeSettingsLoader() {}

  /** The node settings with their defaults, ignoring the environment and system properties. */
  public static NodeSettings defaults() {
    try {
      return load(Optional.empty(), Map.of(), new Properties());
    } catch (ConfigException e) {
      throw new IllegalStateException("reference.conf is invalid: " + e.getMessage(), e);
    }
  }

  public static NodeSettings load(Optional<Path> settingsFile, Map<String, String> env, Properties systemProperties)
      throws ConfigException {
    List<ConfigError> errors = new ArrayList<>();
    Config overrides = overrides(settingsFile, env, systemProperties, errors);
    Config reference = reference();
    Config merged = overrides.withFallback(reference);
    try {
      merged = merged.resolve();
    } catch (com.typesafe.config.ConfigException e) {
      errors.add(new ConfigError(ROOT, "cannot be resolved: " + e.getMessage()));
      throw new ConfigException(errors);
    }
    checkUnknownKeys(merged, reference, errors);
    NodeSettings settings = read(new Reader(merged, errors));
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return settings;
  }

  /**
   * The user's settings without any defaults: system properties ({@code tollgate.*} and
   * {@code pekko.*} only), then environment variables, then the file. The node lays this over its
   * own Pekko defaults, so a settings file may also tune Pekko.
   */
  public static Config overrides(Optional<Path> settingsFile, Map<String, String> env, Properties systemProperties) {
    return overrides(settingsFile, env, systemProperties, new ArrayList<>());
  }

  /** {@code TOLLGATE_*} variables that name no setting, for a warning at start-up. */
  public static List<String> unknownEnvironmentVariables(Map<String, String> env) {
    Map<String, String> known = environmentVariables();
    List<String> unknown = new ArrayList<>();
    for (String name : new TreeSet<>(env.keySet())) {
      if (name.startsWith(ENV_PREFIX) && !known.containsKey(name) && !NOT_SETTINGS.contains(name)) {
        String hint = DidYouMean.closest(name, known.keySet()).map(s -> "; did you mean " + s + "?").orElse("");
        unknown.add(name + " names no setting" + hint);
      }
    }
    return unknown;
  }

  /** Every environment variable that sets a node setting, with the setting's path. */
  public static Map<String, String> environmentVariables() {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> e : reference().getConfig(ROOT).entrySet()) {
      String path = ROOT + "." + e.getKey();
      out.put(environmentVariable(path), path);
    }
    // A map that is empty by default has no entries of its own.
    MAPS.forEach(path -> out.put(environmentVariable(path), path));
    return out;
  }

  /** {@code tollgate.proxy.max-body} → {@code TOLLGATE_PROXY_MAX_BODY}. */
  public static String environmentVariable(String path) {
    return ENV_PREFIX + path.substring(ROOT.length() + 1).toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static Config reference() {
    return ConfigFactory.parseResources(NodeSettingsLoader.class.getClassLoader(), "reference.conf")
        .withFallback(ConfigFactory.defaultReference(NodeSettingsLoader.class.getClassLoader()))
        .withOnlyPath(ROOT);
  }

  private static Config overrides(Optional<Path> settingsFile, Map<String, String> env, Properties systemProperties,
      List<ConfigError> errors) {
    Config file = ConfigFactory.empty();
    if (settingsFile.isPresent()) {
      Path path = settingsFile.get();
      if (!Files.isRegularFile(path)) {
        errors.add(new ConfigError(path.toString(), "no such file (expected: a HOCON settings file)"));
      } else {
        try {
          file = ConfigFactory.parseFile(path.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        } catch (com.typesafe.config.ConfigException e) {
          errors.add(new ConfigError(path.toString(), e.getMessage()));
        }
      }
    }
    Config fromEnv = ConfigFactory.empty();
    for (Map.Entry<String, String> var : environmentVariables().entrySet()) {
      String value = env.get(var.getKey());
      if (value != null) {
        String origin = "environment variable " + var.getKey();
        if (var.getValue().equals(TOKENS)) {
          fromEnv = fromEnv.withValue(TOKENS, namedTokens(value, origin, errors));
          continue;
        }
        fromEnv = fromEnv.withValue(var.getValue(), SECRETS.contains(var.getValue())
            ? ConfigValueFactory.fromAnyRef(value, origin) : parseValue(value, origin));
      }
    }
    Properties props = new Properties();
    for (String name : systemProperties.stringPropertyNames()) {
      if (name.startsWith(ROOT + ".") || name.startsWith("pekko.")) {
        props.setProperty(name, systemProperties.getProperty(name));
      }
    }
    Config fromProps = ConfigFactory.parseProperties(props,
        ConfigParseOptions.defaults().setOriginDescription("system properties"));
    return fromProps.withFallback(fromEnv).withFallback(file);
  }

  /**
   * {@code TOLLGATE_ADMIN_TOKENS}: {@code name=token} entries separated by commas or white space,
   * taken as they are (not as HOCON, where {@code #} would start a comment). Entries that are not
   * {@code name=token} are errors that show no token; the names and tokens themselves are checked
   * with the other settings.
   */
  private static ConfigValue namedTokens(String text, String origin, List<ConfigError> errors) {
    Map<String, String> tokens = new TreeMap<>();
    String[] entries = text.strip().isEmpty() ? new String[0] : text.strip().split("[,\\s]+");
    for (int i = 0; i < entries.length; i++) {
      String entry = entries[i];
      int eq = entry.indexOf('=');
      String where = "entry " + (i + 1) + " of " + entries.length;
      if (eq <= 0) {
        errors.add(new ConfigError(TOKENS, "(hidden) (expected: " + TOKENS_VARIABLE_EXPECTED + "; " + where
            + " has no name before '=') from " + origin));
      } else if (tokens.put(entry.substring(0, eq), entry.substring(eq + 1)) != null) {
        errors.add(new ConfigError(TOKENS, "(hidden) (expected: " + TOKENS_VARIABLE_EXPECTED + "; " + where
            + " names " + entry.substring(0, eq) + " again) from " + origin));
      }
    }
    return ConfigValueFactory.fromMap(tokens, origin);
  }

  /** A variable's text read as a HOCON value (a number, a size, a list...), else as a plain string. */
  private static ConfigValue parseValue(String text, String origin) {
    try {
      Config parsed = ConfigFactory.parseString("v = " + text, ConfigParseOptions.defaults().setOriginDescription(origin));
      return parsed.getValue("v");
    } catch (com.typesafe.config.ConfigException e) {
      return ConfigValueFactory.fromAnyRef(text, origin);
    }
  }

  private static void checkUnknownKeys(Config merged, Config reference, List<ConfigError> errors) {
    if (!merged.hasPath(ROOT)) {
      return;
    }
    if (merged.getValue(ROOT).valueType() != ConfigValueType.OBJECT) {
      errors.add(new ConfigError(ROOT, "not an object (expected: settings under tollgate { ... })"));
      return;
    }
    Set<String> known = new TreeSet<>();
    reference.getConfig(ROOT).entrySet().forEach(e -> known.add(ROOT + "." + e.getKey()));
    known.addAll(MAPS);
    for (Map.Entry<String, ConfigValue> e : merged.getConfig(ROOT).entrySet()) {
      String path = ROOT + "." + e.getKey();
      // "a.list.0" is how properties and variables spell a list element of setting "a.list".
      boolean element = known.stream().anyMatch(k -> path.startsWith(k + ".") && path.substring(k.length() + 1).matches("[0-9]+"));
      boolean named = MAPS.stream().anyMatch(m -> path.startsWith(m + "."));
      if (!known.contains(path) && !element && !named) {
        String hint = DidYouMean.closest(path, known).map(s -> "; did you mean " + s + "?").orElse("");
        errors.add(new ConfigError(path, "unknown setting (from " + e.getValue().origin().description() + hint + ")"));
      }
    }
  }

  private static NodeSettings read(Reader r) {
    NodeSettings.Proxy proxy = new NodeSettings.Proxy(
        r.read("tollgate.proxy.host", "a host name or IP address to bind", r::nonEmptyString, "0.0.0.0"),
        r.read("tollgate.proxy.port", "a port number 0..65535", p -> r.intIn(p, 0, 65535), 8080),
        r.read("tollgate.proxy.max-body", "a size such as 10MiB", r::bytes, 10L << 20),
        r.read("tollgate.proxy.max-header-bytes", "a size from 1KiB to 1MiB, such as 32KiB",
            p -> (int) r.bytesIn(p, 1024, 1 << 20), 32 << 10),
        r.read("tollgate.proxy.max-uri-length", "a size from 256B to 1MiB, such as 8KiB",
            p -> (int) r.bytesIn(p, 256, 1 << 20), 8 << 10),
        r.read("tollgate.proxy.header-read-timeout", "a positive duration such as 10s", r::positiveDuration, Duration.ofSeconds(10)),
        r.read("tollgate.proxy.idle-timeout", "a positive duration such as 60s", r::positiveDuration, Duration.ofSeconds(60)),
        r.read("tollgate.proxy.trusted-proxies", "a list of IP addresses or CIDR blocks such as [\"10.0.0.0/8\"]",
            r::cidrList, List.of()),
        r.read("tollgate.proxy.request-id-header", "a header name such as X-Request-Id", r::headerName, "X-Request-Id"),
        new NodeSettings.ProxyProtocol(
            r.read("tollgate.proxy.proxy-protocol.enabled", "true or false", r::bool, false),
            r.read("tollgate.proxy.proxy-protocol.trusted",
                "a list of IP addresses or CIDR blocks such as [\"10.0.0.0/8\"]", r::cidrList,
                NodeSettings.ProxyProtocol.OFF.trusted()),
            r.read("tollgate.proxy.proxy-protocol.header-timeout", "a positive duration such as 5s", r::positiveDuration,
                NodeSettings.ProxyProtocol.OFF.headerTimeout())));
    NodeSettings.UpstreamPool pool = new NodeSettings.UpstreamPool(
        r.read("tollgate.upstream-pool.max-connections", "a whole number from 1 to 65536", p -> r.intIn(p, 1, 65536), 512),
        r.read("tollgate.upstream-pool.queue-size", "a whole number from 1 to 1048576", p -> r.intIn(p, 1, 1 << 20), 4096));
    NodeSettings.Cluster cluster = cluster(r);
    NodeSettings.Storage storage = new NodeSettings.Storage(
        r.read("tollgate.storage.data-dir", "a directory path such as \"data\" or \"/var/lib/tollgate\"",
            p -> Path.of(r.nonEmptyString(p)), Path.of("data")),
        r.read("tollgate.storage.postgres-url", "empty, or a JDBC URL such as \"jdbc:postgresql://db:5432/tollgate\"",
            r::postgresUrl, ""),
        r.read("tollgate.storage.postgres-user", "a user name", r::nonEmptyString, "tollgate"),
        r.read("tollgate.storage.postgres-password", "a string", r::string, ""),
        r.read("tollgate.storage.max-connections", "a number 1..1000", p -> r.intIn(p, 1, 1000), 8));
    NodeSettings.Quota quota = new NodeSettings.Quota(
        r.read("tollgate.quota.ask-timeout", "a positive duration such as 500ms", r::positiveDuration, Duration.ofMillis(500)),
        r.read("tollgate.quota.unavailable-backoff", "a positive duration such as 1s", r::positiveDuration, Duration.ofSeconds(1)),
        r.read("tollgate.quota.idle-release", "a positive duration such as 1s", r::positiveDuration, Duration.ofSeconds(1)),
        r.read("tollgate.quota.passivate-after", "a duration of at least 10s, such as 2m",
            p -> r.durationAtLeast(p, Duration.ofSeconds(10)), Duration.ofMinutes(2)));
    NodeSettings.Directory directory = new NodeSettings.Directory(
        r.read("tollgate.directory.port", "a port number 0..65535", p -> r.intIn(p, 0, 65535), 5701),
        r.read("tollgate.directory.members", "a list of \"host:port\" addresses such as [\"10.0.0.5:5701\"]", r::hostPorts,
            List.of()),
        r.read("tollgate.directory.backup-count", "a number 0..6", p -> r.intIn(p, 0, 6), 1),
        r.read("tollgate.directory.near-cache-size", "a number 1..10000000", p -> r.intIn(p, 1, 10_000_000), 100_000),
        directoryServiceDns(r));
    NodeSettings.Admin admin = admin(r);
    Duration grace = r.read("tollgate.shutdown.grace-period", "a duration such as 30s", r::nonNegativeDuration,
        Duration.ofSeconds(30));
    NodeSettings.Management management = new NodeSettings.Management(
        r.read(MANAGEMENT_HOST, "a host name or IP address to bind, such as 127.0.0.1 or 0.0.0.0",
            r::nonEmptyString, "127.0.0.1"),
        r.read("tollgate.management.port", "a port number 0..65535", p -> r.intIn(p, 0, 65535), 8558),
        r.read("tollgate.shutdown.ready-delay", "a duration such as 5s", r::nonNegativeDuration, Duration.ofSeconds(5)));
    NodeSettings.AccessLog accessLog = new NodeSettings.AccessLog(
        r.read("tollgate.access-log.enabled", "true or false", r::bool, true),
        r.read("tollgate.access-log.format", "json or text", r::accessLogFormat, NodeSettings.AccessLog.Format.JSON),
        r.read("tollgate.access-log.destination", "stdout, or a file path such as \"/var/log/tollgate/access.log\"",
            r::nonEmptyString, NodeSettings.AccessLog.STDOUT),
        r.read("tollgate.access-log.include-query", "true or false", r::bool, false),
        r.read("tollgate.access-log.queue-size", "a whole number from 1 to 1048576", p -> r.intIn(p, 1, 1 << 20), 8192));
    NodeSettings.Metrics metrics = new NodeSettings.Metrics(
        r.read("tollgate.metrics.enabled", "true or false", r::bool, true),
        r.read("tollgate.metrics.host", "a host name or IP address to bind, such as 127.0.0.1 or 0.0.0.0",
            r::nonEmptyString, "127.0.0.1"),
        r.read("tollgate.metrics.port", "a port number 0..65535", p -> r.intIn(p, 0, 65535), 9095),
        r.read("tollgate.metrics.interval", "a positive duration such as 5s", r::positiveDuration, Duration.ofSeconds(5)));
    checkBootstrapHosts(r, cluster, management);
    return new NodeSettings(proxy, pool, cluster, storage, quota, directory, admin, grace, management, accessLog, metrics);
  }

  private static final String DISCOVERY = "tollgate.cluster.discovery";
  private static final String SEEDS = "tollgate.cluster.seeds";
  private static final String CONTACT_POINTS = "tollgate.cluster.bootstrap.contact-points";
  private static final String REQUIRED_CONTACT_POINTS = "tollgate.cluster.bootstrap.required-contact-points";

  /**
   * {@code tollgate.cluster}: remoting, seeds, the downing delay, and how the node finds the others.
   * Settings that contradict the discovery are errors, each with a stand-in so that the rest is
   * still checked.
   */
  private static NodeSettings.Cluster cluster(Reader r) {
    String host = r.read(CLUSTER_HOST, "a host name or IP address the other nodes reach this one at",
        r::nonEmptyString, "127.0.0.1");
    int port = r.read("tollgate.cluster.port", "a port number 0..65535", p -> r.intIn(p, 0, 65535), 25520);
    List<String> seeds = r.read(SEEDS, "a list of \"host:port\" addresses such as [\"10.0.0.5:25520\"]", r::hostPorts,
        List.of());
    Duration downAfter = r.read("tollgate.cluster.down-after", "a positive duration such as 10s", r::positiveDuration,
        Duration.ofSeconds(10));
    Duration removalMargin = r.read("tollgate.cluster.removal-margin", "a positive duration such as 1s",
        r::positiveDuration, NodeSettings.Cluster.DEFAULT_REMOVAL_MARGIN);
    boolean downCrashed = r.read("tollgate.cluster.down-crashed", "true or false", r::bool, true);
    NodeSettings.Cluster.Discovery discovery = r.read(DISCOVERY, "seeds, kubernetes-api or config",
        p -> NodeSettings.Cluster.Discovery.of(r.string(p)).orElseThrow(), NodeSettings.Cluster.Discovery.SEEDS);
    NodeSettings.Bootstrap defaults = NodeSettings.Bootstrap.DEFAULT;
    String serviceName = r.read("tollgate.cluster.bootstrap.service-name",
        "a name such as \"tollgate\" (letters, digits, '-', '.' and '_')", r::serviceName, defaults.serviceName());
    int required = r.read(REQUIRED_CONTACT_POINTS, "a whole number from 1 to 100", p -> r.intIn(p, 1, 100),
        defaults.requiredContactPoints());
    String selector = r.read("tollgate.cluster.bootstrap.pod-label-selector",
        "a Kubernetes label selector such as \"app=%s\" (%s: the service name)", r::nonEmptyString,
        defaults.podLabelSelector());
    List<String> contactPoints = r.read(CONTACT_POINTS,
        "a list of \"host:port\" Pekko Management addresses such as [\"10.0.0.5:8558\"]", r::hostPorts, List.of());
    if (discovery != NodeSettings.Cluster.Discovery.SEEDS && !seeds.isEmpty()) {
      r.errors.add(new ConfigError(SEEDS, r.shown(SEEDS) + " (expected: empty, as " + DISCOVERY + " is " + discovery
          + ": the cluster forms through cluster bootstrap; or " + DISCOVERY + " = seeds)" + r.from(SEEDS)));
      seeds = List.of();
    }
    if (discovery == NodeSettings.Cluster.Discovery.CONFIG && contactPoints.size() < required) {
      // A list that did not parse has its error already; "too few" would only repeat it.
      if (!r.failed(CONTACT_POINTS)) {
        r.errors.add(new ConfigError(CONTACT_POINTS, r.shown(CONTACT_POINTS) + " (expected: at least " + required
            + " (" + REQUIRED_CONTACT_POINTS + ") \"host:port\" Pekko Management addresses, as " + DISCOVERY
            + " is config)" + r.from(CONTACT_POINTS)));
      }
      discovery = NodeSettings.Cluster.Discovery.SEEDS;
    } else if (discovery != NodeSettings.Cluster.Discovery.CONFIG && !contactPoints.isEmpty() && !r.failed(DISCOVERY)) {
      r.errors.add(new ConfigError(CONTACT_POINTS, r.shown(CONTACT_POINTS) + " (expected: empty, as " + DISCOVERY
          + " is " + discovery + "; contact points are given only with " + DISCOVERY + " = config)"
          + r.from(CONTACT_POINTS)));
      contactPoints = List.of();
    }
    return new NodeSettings.Cluster(host, port, seeds, downAfter, removalMargin, downCrashed, discovery,
        new NodeSettings.Bootstrap(serviceName, required, selector, contactPoints));
  }

  /**
   * With cluster bootstrap, the management address is the node's contact point: the other nodes
   * probe it, and the node finds itself among the discovered contact points by it. A wildcard never
   * matches one; on Kubernetes, neither does loopback, and remoting on loopback is unreachable too.
   * The defaults (loopback) suit seeds on one machine, so they are errors only here.
   */
  private static void checkBootstrapHosts(Reader r, NodeSettings.Cluster cluster, NodeSettings.Management management) {
    if (!cluster.bootstraps()) {
      return;
    }
    boolean kubernetes = cluster.discovery() == NodeSettings.Cluster.Discovery.KUBERNETES_API;
    String expected = kubernetes
        ? "the pod's own IP, such as status.podIP from the downward API, as " + DISCOVERY + " is kubernetes-api"
        : "this node's own address as the other nodes reach it, not a wildcard, as " + DISCOVERY + " is config";
    String host = management.host();
    boolean wildcard = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    if (!r.failed(MANAGEMENT_HOST) && (wildcard || kubernetes && NodeSettings.Admin.isLoopback(host))) {
      r.errors.add(new ConfigError(MANAGEMENT_HOST, "\"" + host + "\" (expected: " + expected
          + ": it is this node's contact point for cluster bootstrap)" + r.from(MANAGEMENT_HOST)));
    }
    if (kubernetes && !r.failed(CLUSTER_HOST) && NodeSettings.Admin.isLoopback(cluster.host())) {
      r.errors.add(new ConfigError(CLUSTER_HOST, "\"" + cluster.host() + "\" (expected: " + expected
          + ": the other pods reach this node's remoting there)" + r.from(CLUSTER_HOST)));
    }
  }

  private static final String MANAGEMENT_HOST = "tollgate.management.host";
  private static final String CLUSTER_HOST = "tollgate.cluster.host";
  private static final String MEMBERS = "tollgate.directory.members";
  private static final String SERVICE_DNS = "tollgate.directory.service-dns";

  /** {@code tollgate.directory.service-dns}, unless the members are listed too (an error). */
  private static String directoryServiceDns(Reader r) {
    String dns = r.read(SERVICE_DNS, "empty, or a DNS name such as \"tollgate-peers.default.svc.cluster.local\"",
        r::dnsName, "");
    if (!dns.isEmpty() && r.config.hasPath(MEMBERS) && r.config.getValue(MEMBERS).valueType() == ConfigValueType.LIST
        && !r.config.getList(MEMBERS).isEmpty()) {
      r.errors.add(new ConfigError(SERVICE_DNS, "\"" + dns + "\" (expected: empty while " + MEMBERS
          + " lists members; give one of the two)" + r.from(SERVICE_DNS)));
      return "";
    }
    return dns;
  }

  private static NodeSettings.Admin admin(Reader r) {
    String host = r.read("tollgate.admin.host", "a host name or IP address to bind, such as 127.0.0.1", r::nonEmptyString,
        "127.0.0.1");
    int port = r.read("tollgate.admin.port", "a port number 0..65535", p -> r.intIn(p, 0, 65535), 8081);
    int errorsBefore = r.errors.size();
    String token = r.readSecret("tollgate.admin.token", NodeSettings.Admin.TOKEN_EXPECTED, r::adminToken, "");
    Map<String, String> tokens = namedTokens(r, token);
    boolean tokenRead = r.errors.size() == errorsBefore;
    Duration clusterTimeout = r.read("tollgate.admin.cluster-timeout", "a positive duration such as 5s",
        r::positiveDuration, NodeSettings.Admin.DEFAULT_CLUSTER_TIMEOUT);
    if (token.isEmpty() && tokens.isEmpty() && !NodeSettings.Admin.isLoopback(host)) {
      if (tokenRead) {
        r.errors.add(new ConfigError("tollgate.admin.token",
            NodeSettings.Admin.missingToken(host, r.from("tollgate.admin.host"))));
      }
      host = "127.0.0.1"; // a stand-in, so that the other settings are still checked
    }
    return new NodeSettings.Admin(host, port, token, tokens, clusterTimeout);
  }

  /**
   * {@code tollgate.admin.tokens}: names and tokens, each name and token checked; the bad ones are
   * reported (never showing a token) and left out.
   */
  private static Map<String, String> namedTokens(Reader r, String token) {
    Map<String, String> tokens = new TreeMap<>();
    if (!r.config.hasPath(TOKENS)) {
      return tokens;
    }
    ConfigValue value = r.config.getValue(TOKENS);
    if (!(value instanceof com.typesafe.config.ConfigObject object)) {
      r.errors.add(new ConfigError(TOKENS, "(hidden) (expected: names and their tokens, such as tokens { ci = \"...\" })"
          + r.from(TOKENS)));
      return tokens;
    }
    Map<String, String> owners = new TreeMap<>();
    if (!token.isEmpty()) {
      owners.put(token, "tollgate.admin.token");
    }
    for (Map.Entry<String, ConfigValue> e : new TreeMap<>(object).entrySet()) {
      String name = e.getKey();
      String path = TOKENS + "." + (NodeSettings.Admin.TOKEN_NAME_PATTERN.matcher(name).matches() ? name : "\"" + name + "\"");
      String from = " from " + Reader.origin(e.getValue());
      String nameProblem = NodeSettings.Admin.tokenNameProblem(name);
      if (nameProblem != null) {
        r.errors.add(new ConfigError(path, "a token's name (expected: " + nameProblem + ")" + from));
      } else if (e.getValue().valueType() != ConfigValueType.STRING) {
        r.errors.add(new ConfigError(path, "(hidden) (expected: a quoted string of "
            + NodeSettings.Admin.NAMED_TOKEN_EXPECTED + (e.getValue().valueType() == ConfigValueType.OBJECT
                ? "; a name holds no '.'" : "") + ")" + from));
      } else {
        String t = (String) e.getValue().unwrapped();
        String owner = owners.putIfAbsent(t, path);
        if (!NodeSettings.Admin.TOKEN.matcher(t).matches()) {
          r.errors.add(new ConfigError(path, "(hidden) (expected: " + NodeSettings.Admin.NAMED_TOKEN_EXPECTED + ")" + from));
        } else if (owner != null) {
          r.errors.add(new ConfigError(path, "(hidden) (expected: a token of this name alone; " + owner
              + " has the same one)" + from));
        } else {
          tokens.put(name, t);
        }
      }
    }
    return tokens;
  }

  /** Reads settings one by one, turning every bad value into an error and a stand-in default. */
  private static final class Reader {
    private final Config config;
    private final List<ConfigError> errors;

    Reader(Config config, List<ConfigError> errors) {
      this.config = config;
      this.errors = errors;
    }

    <T> T read(String path, String expected, Function<String, T> parse, T standIn) {
      return read(path, expected, parse, standIn, false);
    }

    /** Like {@link #read}, but an error shows "(hidden)" instead of the value. */
    <T> T readSecret(String path, String expected, Function<String, T> parse, T standIn) {
      return read(path, expected, parse, standIn, true);
    }

    private <T> T read(String path, String expected, Function<String, T> parse, T standIn, boolean secret) {
      try {
        return parse.apply(path);
      } catch (RuntimeException e) {
        String shown = !config.hasPath(path) ? "missing" : secret ? "(hidden)" : render(config.getValue(path));
        errors.add(new ConfigError(path, shown + " (expected: " + expected + ")" + from(path)));
        return standIn;
      }
    }

    /** " from ORIGIN" of a value the user gave; empty for a default. */
    String from(String path) {
      String from = config.hasPath(path) ? " from " + origin(config.getValue(path)) : "";
      return from.contains("reference.conf") ? "" : from;
    }

    /** Where a value came from; a variable's text has no line numbers worth showing. */
    static String origin(ConfigValue value) {
      String d = value.origin().description();
      return d.startsWith("environment variable") ? d.replaceFirst(": \\d+$", "") : d;
    }

    private static String render(ConfigValue value) {
      Object raw = value.unwrapped();
      return raw instanceof String s ? "\"" + s + "\"" : value.render(com.typesafe.config.ConfigRenderOptions.concise());
    }

    String nonEmptyString(String path) {
      String s = config.getString(path);
      if (s.isBlank()) {
        throw new IllegalArgumentException("blank");
      }
      return s;
    }

    boolean bool(String path) {
      return config.getBoolean(path);
    }

    String string(String path) {
      return config.getString(path);
    }

    /** Whether the value at the path was reported as an error already. */
    boolean failed(String path) {
      return errors.stream().anyMatch(e -> e.path().equals(path));
    }

    /** The value as an error shows it. */
    String shown(String path) {
      return render(config.getValue(path));
    }

    String serviceName(String path) {
      String s = config.getString(path);
      if (!s.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,252}")) {
        throw new IllegalArgumentException("not a name");
      }
      return s;
    }

    String dnsName(String path) {
      String s = config.getString(path);
      if (!s.isEmpty() && !s.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\\.?")) {
        throw new IllegalArgumentException("not a DNS name");
      }
      return s;
    }

    NodeSettings.AccessLog.Format accessLogFormat(String path) {
      return switch (config.getString(path)) {
        case "json" -> NodeSettings.AccessLog.Format.JSON;
        case "text" -> NodeSettings.AccessLog.Format.TEXT;
        default -> throw new IllegalArgumentException("unknown format");
      };
    }

    String adminToken(String path) {
      String s = config.getString(path);
      if (!s.isEmpty() && !NodeSettings.Admin.TOKEN.matcher(s).matches()) {
        throw new IllegalArgumentException("not a token");
      }
      return s;
    }

    String postgresUrl(String path) {
      String s = config.getString(path);
      if (!s.isEmpty() && !s.startsWith("jdbc:postgresql://")) {
        throw new IllegalArgumentException("not a PostgreSQL JDBC URL");
      }
      return s;
    }

    Duration durationAtLeast(String path, Duration min) {
      Duration d = config.getDuration(path);
      if (d.compareTo(min) < 0) {
        throw new IllegalArgumentException("too short");
      }
      return d;
    }

    int intIn(String path, int min, int max) {
      int v = config.getInt(path);
      if (v < min || v > max) {
        throw new IllegalArgumentException("out of range");
      }
      return v;
    }

    long bytes(String path) {
      return bytesIn(path, 0, Long.MAX_VALUE);
    }

    long bytesIn(String path, long min, long max) {
      long v = config.getBytes(path);
      if (v < min || v > max) {
        throw new IllegalArgumentException("out of range");
      }
      return v;
    }

    Duration positiveDuration(String path) {
      return durationFrom(path, false);
    }

    Duration nonNegativeDuration(String path) {
      return durationFrom(path, true);
    }

    private Duration durationFrom(String path, boolean zeroAllowed) {
      Duration d = config.getDuration(path);
      if (d.isNegative() || (d.isZero() && !zeroAllowed)) {
        throw new IllegalArgumentException("out of range");
      }
      return d;
    }

    List<CidrRange> cidrList(String path) {
      List<CidrRange> out = new ArrayList<>();
      for (String s : config.getStringList(path)) {
        out.add(CidrRange.parse(s));
      }
      return Collections.unmodifiableList(out);
    }

    List<String> hostPorts(String path) {
      List<String> out = new ArrayList<>();
      for (String s : config.getStringList(path)) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || s.substring(0, colon).isBlank()) {
          throw new IllegalArgumentException("not host:port");
        }
        int port = Integer.parseInt(s.substring(colon + 1));
        if (port < 1 || port > 65535) {
          throw new IllegalArgumentException("port out of range");
        }
        out.add(s);
      }
      return Collections.unmodifiableList(out);
    }

    String headerName(String path) {
      String s = config.getString(path);
      if (s.isEmpty() || !s.chars().allMatch(c -> c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
        throw new IllegalArgumentException("not a token");
      }
      return s;
    }
  }

}
