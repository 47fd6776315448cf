package dev.tollgate.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads a node's {@link NodeSettings} from HOCON. Precedence, highest first: {@code -Dtollgate...}
 * system properties, {@code TOLLGATE_...} environment variables, the settings file,
 * {@code reference.conf}.
 *
 * <p>Every leaf setting {@code tollgate.a.b-c} has the environment variable {@code TOLLGATE_A_B_C}
 * (the path after {@code tollgate.}, upper case, {@code .} and {@code -} as {@code _}). Values of
 * environment variables and of {@code -Dtollgate...} properties are read as HOCON values, so
 * {@code ["10.0.0.0/8"]} is a list, {@code 8080} a number and {@code 10MiB} a size; anything that is
 * not a HOCON list, object, number or boolean is taken verbatim as a string.
 *
 * <p>Unknown {@code tollgate.*} keys in the file or in {@code -D} properties are errors; unknown
 * {@code TOLLGATE_*} variables are only {@link #warnings(Map) warnings}, since the environment is
 * often shared. All errors are reported together.
 */
public final class NodeSettingsLoader {

  /** The prefix of every setting, and of every path in errors. */
  public static final String ROOT = "tollgate";
  public static final String ENV_PREFIX = "TOLLGATE_";

  private static final Pattern TOKEN = UpstreamReader.TOKEN;
  private static final Config REFERENCE =
      ConfigFactory.parseResources(NodeSettingsLoader.class.getClassLoader(), "reference.conf").resolve();
  /** Environment variable name to setting path, for every leaf under {@code tollgate} in reference.conf. */
  private static final Map<String, String> ENV_NAMES = envNames();

  private NodeSettingsLoader() {}

  /**
   * The settings of this node, checked whole.
   *
   * @param settingsFile a HOCON (or JSON, or .properties) file; absent to use only the other sources
   * @param env the process environment, normally {@code System.getenv()}
   * @param systemProperties normally {@code System.getProperties()}
   * @throws ConfigException listing every bad or unknown setting, e.g.
   *     {@code tollgate.proxy.port: "eighty" (expected: a port number 0..65535)}
   */
  public static NodeSettings load(Optional<Path> settingsFile, Map<String, String> env, Properties systemProperties)
      throws ConfigException {
    Reading reading = new Reading();
    if (settingsFile.isPresent() && !Files.isRegularFile(settingsFile.get())) {
      throw new ConfigException(new ConfigError(settingsFile.get().toString(), "no such file"));
    }
    Config file;
    try {
      file = file(settingsFile);
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(problemOf(e, settingsFile.map(Path::toString).orElse("settings")));
    }
    Config properties;
    try {
      properties = tollgateProperties(systemProperties);
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(problemOf(e, "system properties"));
    }
    reading.checkKeys(file.root().get(ROOT), REFERENCE.root().get(ROOT), ROOT);
    reading.checkKeys(properties.root().get(ROOT), REFERENCE.root().get(ROOT), ROOT);
    Config merged;
    try {
      merged = properties.withFallback(environment(env)).withFallback(file).withFallback(REFERENCE).resolve();
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException(problemOf(e, "settings"));
    }
    NodeSettings settings = reading.settings(merged);
    if (!reading.errors.isEmpty()) {
      throw new ConfigException(reading.errors);
    }
    return settings;
  }

  /**
   * The whole merged configuration with the same precedence, resolved, for the node's
   * {@code ActorSystem}: it carries the {@code pekko { ... }} overrides of the settings file and of
   * {@code -D} properties, and every {@code reference.conf} on the class path. Call {@link #load}
   * first to have the settings checked; this method only throws the unchecked
   * {@link com.typesafe.config.ConfigException} of a file that cannot be parsed.
   */
  public static Config effective(Optional<Path> settingsFile, Map<String, String> env, Properties systemProperties) {
    Properties others = new Properties();
    systemProperties.stringPropertyNames().stream()
        .filter(name -> !name.startsWith(ROOT + "."))
        .forEach(name -> others.setProperty(name, systemProperties.getProperty(name)));
    return tollgateProperties(systemProperties)
        .withFallback(ConfigFactory.parseProperties(others))
        .withFallback(environment(env))
        .withFallback(file(settingsFile))
        .withFallback(ConfigFactory.defaultReference(NodeSettingsLoader.class.getClassLoader()))
        .resolve();
  }

  /** One line for every {@code TOLLGATE_*} variable that is not a setting; such variables are ignored. */
  public static List<String> warnings(Map<String, String> env) {
    return warnings(env, Set.of());
  }

  /**
   * As {@link #warnings(Map)}, without warning about {@code otherVariables}: {@code TOLLGATE_*}
   * variables that something else reads, such as a launcher.
   */
  public static List<String> warnings(Map<String, String> env, Set<String> otherVariables) {
    List<String> warnings = new ArrayList<>();
    for (String name : new TreeSet<>(env.keySet())) {
      if (name.startsWith(ENV_PREFIX) && !ENV_NAMES.containsKey(name) && !otherVariables.contains(name)) {
        String hint = DidYouMean.closest(name, ENV_NAMES.keySet())
            .map(s -> "did you mean " + s + "?")
            .orElse("the settings are " + String.join(", ", ENV_NAMES.keySet()));
        warnings.add(name + ": not a Tollgate setting, ignored (" + hint + ")");
      }
    }
    return warnings;
  }

  /** Every setting's environment variable, mapped to its path such as {@code tollgate.proxy.max-body}. */
  public static Map<String, String> environmentVariables() {
    return ENV_NAMES;
  }

  /** {@code tollgate.proxy.max-body} to {@code TOLLGATE_PROXY_MAX_BODY}. */
  public static String envVarName(String settingPath) {
    if (!settingPath.startsWith(ROOT + ".")) {
      throw new IllegalArgumentException("not a setting path: " + settingPath);
    }
    return ENV_PREFIX + settingPath.substring(ROOT.length() + 1).toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static Map<String, String> envNames() {
    Map<String, String> names = new LinkedHashMap<>();
    REFERENCE.getConfig(ROOT).entrySet().stream()
        .map(e -> ROOT + "." + e.getKey())
        .sorted()
        .forEach(path -> {
          String previous = names.put(envVarName(path), path);
          if (previous != null) {
            throw new IllegalStateException(previous + " and " + path + " have the same environment variable");
          }
        });
    return Map.copyOf(names);
  }

  private static Config file(Optional<Path> settingsFile) {
    return settingsFile
        .map(f -> ConfigFactory.parseFile(f.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)))
        .orElse(ConfigFactory.empty());
  }

  private static Config environment(Map<String, String> env) {
    Config config = ConfigFactory.empty("environment variables");
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(env).entrySet()) {
      String path = ENV_NAMES.get(e.getKey());
      if (path != null) {
        config = config.withValue(path, hoconValue(e.getValue(), "environment variable " + e.getKey()));
      }
    }
    return config;
  }

  /** The {@code tollgate.*} system properties, their values read as HOCON values like environment variables. */
  private static Config tollgateProperties(Properties systemProperties) {
    Config config = ConfigFactory.empty("system properties");
    for (String name : new TreeSet<>(systemProperties.stringPropertyNames())) {
      if (name.startsWith(ROOT + ".")) {
        config = config.withValue(name, hoconValue(systemProperties.getProperty(name), "system property " + name));
      }
    }
    return config;
  }

  /**
   * A list, object, number or boolean written in HOCON; anything else verbatim as a string, so that
   * {@code //} or {@code #} in a value are not taken for comments.
   */
  static ConfigValue hoconValue(String raw, String origin) {
    try {
      Config parsed = ConfigFactory.parseString("v = " + raw, ConfigParseOptions.defaults().setOriginDescription(origin));
      if (parsed.root().size() == 1 && parsed.root().containsKey("v")) {
        ConfigValue value = parsed.root().get("v");
        if (value.valueType() != ConfigValueType.STRING || raw.strip().startsWith("\"")) {
          return value;
        }
      }
    } catch (com.typesafe.config.ConfigException e) {
      // not HOCON (or unresolved): a plain string
    }
    return ConfigValueFactory.fromAnyRef(raw, origin);
  }

  private static ConfigError problemOf(com.typesafe.config.ConfigException e, String source) {
    String message = e.getMessage();
    if (e.origin() != null && e.origin().filename() != null && e.origin().lineNumber() > 0) {
      String lineMark = ": " + e.origin().lineNumber() + ": ";
      int cut = message.indexOf(lineMark);
      return new ConfigError(
          e.origin().filename() + ":" + e.origin().lineNumber(),
          cut >= 0 ? message.substring(cut + lineMark.length()) : message);
    }
    return new ConfigError(source, message);
  }

  /** One load: the errors found so far and the paths whose errors already cover everything below them. */
  private static final class Reading {
    final List<ConfigError> errors = new ArrayList<>();
    final List<String> reported = new ArrayList<>();

    void error(String path, String message) {
      errors.add(new ConfigError(path, message));
      reported.add(path);
    }

    boolean covered(String path) {
      return reported.stream().anyMatch(p -> path.equals(p) || path.startsWith(p + "."));
    }

    void checkKeys(ConfigValue given, ConfigValue reference, String path) {
      if (given == null) {
        return;
      }
      if (!(reference instanceof ConfigObject ref)) {
        return;
      }
      Set<String> known = new TreeSet<>(ref.keySet());
      if (!(given instanceof ConfigObject object)) {
        if (!covered(path)) {
          error(path, rendered(given) + " (expected: a section with " + String.join(", ", known) + ")");
        }
        return;
      }
      for (String key : new TreeSet<>(object.keySet())) {
        String child = path + "." + key;
        if (!known.contains(key)) {
          if (!covered(child)) {
            String suggestion = DidYouMean.closest(key, known).map(s -> "; did you mean " + s + "?").orElse("");
            error(child, "unknown key (expected one of: " + String.join(", ", known) + suggestion + ")");
          }
        } else {
          checkKeys(object.get(key), ref.get(key), child);
        }
      }
    }

    NodeSettings settings(Config c) {
      String listen = "an address to listen on, such as 0.0.0.0, 127.0.0.1 or ::";
      String host = read(c, "tollgate.proxy.host", listen, Config::getString,
          h -> HostName.isNameOrIpv4(h) || HostName.isIpv6(h), "0.0.0.0");
      int port = read(c, "tollgate.proxy.port", "a port number 0..65535", Config::getInt, p -> p >= 0 && p <= 65535, 0);
      long maxBody = read(c, "tollgate.proxy.max-body", "a size such as 10MiB, 512KiB or 1048576",
          Config::getBytes, b -> b >= 0, 0L);
      int maxHeaderBytes = intSize(c, "tollgate.proxy.max-header-bytes", "32KiB");
      int maxUriLength = intSize(c, "tollgate.proxy.max-uri-length", "8KiB");
      Duration headerRead = positiveDuration(c, "tollgate.proxy.header-read-timeout", "10s");
      Duration idle = positiveDuration(c, "tollgate.proxy.idle-timeout", "60s");
      List<CidrRange> trusted = trustedProxies(c, "tollgate.proxy.trusted-proxies");
      String requestId = read(c, "tollgate.proxy.request-id-header", "an HTTP header name such as X-Request-Id",
          Config::getString, h -> TOKEN.matcher(h).matches(), "X-Request-Id");
      String count = "a whole number of at least 1";
      int maxConnections = read(c, "tollgate.upstream-pool.max-connections", count, Config::getInt, n -> n >= 1, 1);
      int queueSize = read(c, "tollgate.upstream-pool.queue-size", count, Config::getInt, n -> n >= 1, 1);
      Duration grace = read(c, "tollgate.shutdown.grace-period", "a duration such as 30s, 500ms or 0s",
          Config::getDuration, d -> !d.isNegative(), Duration.ZERO);
      if (!errors.isEmpty()) {
        return null;
      }
      return new NodeSettings(
          new NodeSettings.Proxy(host, port, maxBody, maxHeaderBytes, maxUriLength, headerRead, idle, trusted, requestId),
          new NodeSettings.UpstreamPool(maxConnections, queueSize),
          grace);
    }

    private int intSize(Config c, String path, String example) {
      return read(c, path, "a size such as " + example + ", from 1 byte to less than 2GiB",
          Config::getBytes, b -> b >= 1 && b <= Integer.MAX_VALUE, 1L).intValue();
    }

    private Duration positiveDuration(Config c, String path, String example) {
      return read(c, path, "a positive duration such as " + example + ", 500ms or 1m",
          Config::getDuration, d -> !d.isNegative() && !d.isZero(), Duration.ofSeconds(1));
    }

    private List<CidrRange> trustedProxies(Config c, String path) {
      List<String> texts = read(c, path, "a list of IP addresses or CIDR blocks such as [\"10.0.0.0/8\"]",
          Config::getStringList, l -> true, List.of());
      List<CidrRange> ranges = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        try {
          ranges.add(CidrRange.parse(texts.get(i)));
        } catch (IllegalArgumentException e) {
          error(path + "[" + i + "]", ConfigValueFactory.fromAnyRef(texts.get(i)).render(ConfigRenderOptions.concise())
              + " (expected: an IP address or CIDR block such as 10.0.0.0/8; " + e.getMessage() + ")");
        }
      }
      return ranges;
    }

    private <T> T read(Config c, String path, String expectation, java.util.function.BiFunction<Config, String, T> getter,
        java.util.function.Predicate<T> valid, T placeholder) {
      if (covered(path)) {
        return placeholder;
      }
      T value;
      try {
        value = getter.apply(c, path);
      } catch (com.typesafe.config.ConfigException e) {
        error(path, shown(c, path) + " (expected: " + expectation + ")");
        return placeholder;
      }
      if (!valid.test(value)) {
        error(path, shown(c, path) + " (expected: " + expectation + ")");
        return placeholder;
      }
      return value;
    }

    private static String shown(Config c, String path) {
      try {
        if (!c.hasPathOrNull(path)) {
          return "missing";
        }
        return c.getIsNull(path) ? "null" : rendered(c.getValue(path));
      } catch (com.typesafe.config.ConfigException e) {
        return "missing";
      }
    }

    private static String rendered(ConfigValue value) {
      if (value.valueType() == ConfigValueType.NULL) {
        return "null";
      }
      return value.render(ConfigRenderOptions.concise());
    }
  }
}
