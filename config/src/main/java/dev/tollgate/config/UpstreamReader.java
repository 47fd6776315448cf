package dev.tollgate.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads one entry of {@code upstreams} into an {@link Upstream}, reporting every problem it finds. */
final class UpstreamReader {

  static final List<String> KEYS =
      List.of("name", "targets", "balancer", "hash_on", "host_header", "timeouts", "retries", "health_check",
          "circuit_breaker");
  static final String NAME_EXPECTED =
      "a name of 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit";
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  /** An HTTP header or cookie name (an RFC 9110 token). */
  static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  private static final String TARGETS = "a non-empty list of targets such as - url: http://10.0.0.1:8080";
  private static final String HASH_ON = "client_ip, {header: NAME} or {cookie: NAME}";
  private static final String HOST_HEADER =
      "target, preserve, or a host name with an optional port such as api.example.com";
  private static final String RETRY_ON = "connect-failure, reset, timeout, or a status from 500 to 599";
  private static final String STATUSES = "a status such as 200 or a range such as \"200-399\", within 100-599";
  private static final Pattern STATUS_RANGE = Pattern.compile("([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?");
  private static final int MAX_THRESHOLD = 100;
  private static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
  private static final Duration DEFAULT_PROBE_TIMEOUT = Duration.ofSeconds(2);
  private static final int MAX_CONSECUTIVE_FAILURES = 1000;
  private static final List<String> BREAKER_KEYS =
      List.of("enabled", "failure_rate", "minimum_calls", "window", "open_duration", "half_open_probes");
  private static final String BREAKER = "a mapping with enabled, failure_rate, minimum_calls, window, open_duration"
      + " and/or half_open_probes; enabled: false turns the breaker off";
  private static final String FAILURE_RATE = "a percentage from 1 to 100 such as 50% or 50";
  private static final Pattern PERCENT = Pattern.compile("([1-9][0-9]?|100)%");
  private static final int MAX_MINIMUM_CALLS = 1_000_000;
  private static final int MAX_HALF_OPEN_PROBES = 100;
  // as short as 100ms so that tests against real nodes can open and close a breaker without long waits
  private static final Duration MIN_BREAKER_TIME = Duration.ofMillis(100);
  private static final Duration MAX_BREAKER_TIME = Duration.ofHours(1);
  private static final String BREAKER_TIME = "a duration from 100ms to 1h such as 500ms, 10s or 1m";

  private static final Map<String, BalancerKind> BALANCERS = new LinkedHashMap<>();
  private static final Map<String, RetryPolicy.Condition> CONDITIONS = new LinkedHashMap<>();

  static {
    for (BalancerKind kind : BalancerKind.values()) {
      BALANCERS.put(kind.configName(), kind);
    }
    for (RetryPolicy.Condition condition : RetryPolicy.Condition.values()) {
      CONDITIONS.put(condition.configName(), condition);
    }
  }

  /** Where each upstream name was first used, to report duplicates. */
  private final Map<String, String> namesSeen = new LinkedHashMap<>();

  Optional<Upstream> read(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("an upstream, a mapping with at least name and targets", KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    String name = m.require("name", NAME_EXPECTED).flatMap(n -> uniqueName(n)).orElse(null);
    List<Target> targets = m.require("targets", TARGETS).flatMap(UpstreamReader::targets).orElse(List.of());
    Optional<BalancerKind> balancerRead = m.get("balancer")
        .map(b -> b.word(BALANCERS, "one of " + String.join(", ", BALANCERS.keySet())))
        .orElse(Optional.of(BalancerKind.ROUND_ROBIN));
    BalancerKind balancer = balancerRead.orElse(BalancerKind.ROUND_ROBIN);
    // with a misspelt balancer, whether hash_on belongs is unknown: only the balancer is reported
    Optional<HashKey> hashOn = balancerRead.isEmpty()
        ? Optional.empty()
        : m.get("hash_on").flatMap(h -> hashOn(h, balancer));
    if (balancer == BalancerKind.CONSISTENT_HASH && hashOn.isEmpty()) {
      hashOn = Optional.of(HashKey.clientIp());
    }
    HostHeader hostHeader = m.get("host_header").flatMap(UpstreamReader::hostHeader).orElse(HostHeader.target());
    Timeouts timeouts = m.get("timeouts").flatMap(UpstreamReader::timeouts).orElse(Timeouts.DEFAULT);
    RetryPolicy retries = m.get("retries").flatMap(UpstreamReader::retries).orElse(RetryPolicy.DEFAULT);
    Optional<ActiveHealthCheck> active = Optional.empty();
    PassiveHealthCheck passive = PassiveHealthCheck.DEFAULT;
    Optional<Mapping> health = m.get("health_check")
        .flatMap(h -> h.mapping("a mapping with active and/or passive", List.of("active", "passive")));
    if (health.isPresent()) {
      active = health.get().get("active").flatMap(UpstreamReader::activeCheck);
      passive = health.get().get("passive").flatMap(UpstreamReader::passiveCheck).orElse(PassiveHealthCheck.DEFAULT);
    }
    CircuitBreaker breaker =
        m.get("circuit_breaker").flatMap(UpstreamReader::circuitBreaker).orElse(CircuitBreaker.DEFAULT);
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new Upstream(name, targets, balancer, hashOn, hostHeader, timeouts, retries, active, passive,
        breaker));
  }

  private Optional<String> uniqueName(ConfigNode node) {
    return node.matching(NAME, NAME_EXPECTED).filter(name -> {
      String first = namesSeen.putIfAbsent(name, YamlTree.display(node.path()));
      if (first != null) {
        node.invalid("a name no other upstream has; " + first + " has it");
        return false;
      }
      return true;
    });
  }

  private static Optional<List<Target>> targets(ConfigNode node) {
    Optional<List<ConfigNode>> list = node.list(TARGETS);
    if (list.isEmpty()) {
      return Optional.empty();
    }
    if (list.get().isEmpty()) {
      node.invalid(TARGETS);
      return Optional.empty();
    }
    List<Target> targets = new ArrayList<>();
    Map<String, String> seen = new LinkedHashMap<>();
    boolean complete = true;
    for (ConfigNode element : list.get()) {
      Optional<Mapping> m = element.mapping("a target, a mapping with url and an optional weight", List.of("url", "weight"));
      if (m.isEmpty()) {
        complete = false;
        continue;
      }
      int weight = m.get().get("weight").flatMap(w -> w.integer(1, Target.MAX_WEIGHT)).orElse(1);
      Optional<ConfigNode> urlNode = m.get().require("url", TargetUrl.EXPECTED);
      Optional<Target> target = urlNode.flatMap(u -> u.string(TargetUrl.EXPECTED).flatMap(url -> TargetUrl.read(u, url, weight)));
      if (target.isPresent()) {
        String first = seen.putIfAbsent(target.get().url(), YamlTree.display(urlNode.get().path()));
        if (first != null) {
          urlNode.get().invalid("a target not already listed in this upstream; " + first + " is the same");
          complete = false;
          continue;
        }
        targets.add(target.get());
      } else {
        complete = false;
      }
    }
    return complete ? Optional.of(targets) : Optional.empty();
  }

  private static Optional<HashKey> hashOn(ConfigNode node, BalancerKind balancer) {
    if (balancer != BalancerKind.CONSISTENT_HASH) {
      node.invalid("no hash_on, as it applies only to balancer: consistent-hash");
      return Optional.empty();
    }
    if (node.json().isTextual() && node.json().textValue().equals("client_ip")) {
      return Optional.of(HashKey.clientIp());
    }
    if (!node.json().isObject() || node.json().size() != 1) {
      node.invalid(HASH_ON);
      return Optional.empty();
    }
    Mapping m = new Mapping(node, List.of("header", "cookie"));
    String expectation = "a header or cookie name such as X-User-Id";
    if (m.has("header")) {
      return m.get("header").flatMap(h -> h.matching(TOKEN, expectation)).map(HashKey::header);
    }
    if (m.has("cookie")) {
      return m.get("cookie").flatMap(c -> c.matching(TOKEN, expectation)).map(HashKey::cookie);
    }
    return Optional.empty();
  }

  private static Optional<HostHeader> hostHeader(ConfigNode node) {
    return node.string(HOST_HEADER).flatMap(text -> {
      if (text.equals("target")) {
        return Optional.of(HostHeader.target());
      }
      if (text.equals("preserve")) {
        return Optional.of(HostHeader.preserve());
      }
      if (HostName.authority(text).isPresent()) {
        return Optional.of(HostHeader.fixed(text));
      }
      node.invalid(HOST_HEADER);
      return Optional.empty();
    });
  }

  // Sub-readers fall back to defaults for values they reported: read() discards the upstream then.
  private static Optional<Timeouts> timeouts(ConfigNode node) {
    return node.mapping("a mapping with connect, response and/or idle", List.of("connect", "response", "idle"))
        .map(m -> {
          Timeouts d = Timeouts.DEFAULT;
          return new Timeouts(
              m.get("connect").flatMap(ConfigNode::duration).orElse(d.connect()),
              m.get("response").flatMap(ConfigNode::duration).orElse(d.response()),
              m.get("idle").flatMap(ConfigNode::duration).orElse(d.idle()));
        });
  }

  private static Optional<RetryPolicy> retries(ConfigNode node) {
    return node.mapping("a mapping with max and/or on", List.of("max", "on")).flatMap(m -> {
      int max = m.get("max").flatMap(x -> x.integer(0, RetryPolicy.MAX_RETRIES)).orElse(RetryPolicy.DEFAULT.max());
      Optional<ConfigNode> onNode = m.get("on");
      if (onNode.isEmpty()) {
        return Optional.of(new RetryPolicy(max, RetryPolicy.DEFAULT.on(), RetryPolicy.DEFAULT.statuses()));
      }
      Optional<List<ConfigNode>> list = onNode.get().list("a list of " + RETRY_ON);
      if (list.isEmpty()) {
        return Optional.empty();
      }
      Set<RetryPolicy.Condition> on = EnumSet.noneOf(RetryPolicy.Condition.class);
      Set<Integer> statuses = new HashSet<>();
      for (ConfigNode element : list.get()) {
        if (element.json().isTextual()) {
          element.word(CONDITIONS, RETRY_ON).ifPresent(on::add);
        } else {
          element.integer(500, 599, RETRY_ON).ifPresent(statuses::add);
        }
      }
      return Optional.of(new RetryPolicy(max, on, statuses));
    });
  }

  private static Optional<ActiveHealthCheck> activeCheck(ConfigNode node) {
    List<String> keys =
        List.of("path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "expected_statuses");
    return node.mapping("a mapping with at least path", keys).flatMap(m -> {
      String pathExpected = "a path starting with / such as /healthz";
      String path = m.require("path", pathExpected)
          .flatMap(p -> p.matching(Pattern.compile("/[^\\s#]*"), pathExpected))
          .orElse(null);
      Duration interval = m.get("interval").flatMap(ConfigNode::duration).orElse(DEFAULT_INTERVAL);
      Duration timeout = m.get("timeout").flatMap(ConfigNode::duration).orElse(DEFAULT_PROBE_TIMEOUT);
      int healthy = m.get("healthy_threshold").flatMap(t -> t.integer(1, MAX_THRESHOLD)).orElse(2);
      int unhealthy = m.get("unhealthy_threshold").flatMap(t -> t.integer(1, MAX_THRESHOLD)).orElse(3);
      List<StatusRange> expected = m.get("expected_statuses")
          .flatMap(UpstreamReader::statusRanges)
          .orElse(ActiveHealthCheck.DEFAULT_EXPECTED);
      if (path == null) {
        return Optional.empty();
      }
      return Optional.of(new ActiveHealthCheck(path, interval, timeout, healthy, unhealthy, expected));
    });
  }

  private static Optional<List<StatusRange>> statusRanges(ConfigNode node) {
    String listExpected = "a non-empty list of statuses such as 200 or ranges such as \"200-399\"";
    Optional<List<ConfigNode>> list = node.list(listExpected);
    if (list.isEmpty()) {
      return Optional.empty();
    }
    if (list.get().isEmpty()) {
      node.invalid(listExpected);
      return Optional.empty();
    }
    List<StatusRange> ranges = new ArrayList<>();
    for (ConfigNode element : list.get()) {
      if (element.json().isIntegralNumber()) {
        element.integer(100, 599, STATUSES).ifPresent(s -> ranges.add(new StatusRange(s, s)));
        continue;
      }
      element.string(STATUSES).ifPresent(text -> {
        var m = STATUS_RANGE.matcher(text);
        if (!m.matches()) {
          element.invalid(STATUSES);
          return;
        }
        int from = Integer.parseInt(m.group(1));
        int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
        if (from > to) {
          element.invalid(STATUSES + ", the lower status first");
          return;
        }
        ranges.add(new StatusRange(from, to));
      });
    }
    return ranges.size() == list.get().size() ? Optional.of(ranges) : Optional.empty();
  }

  private static Optional<PassiveHealthCheck> passiveCheck(ConfigNode node) {
    return node.mapping("a mapping with consecutive_failures and/or ejection_time",
        List.of("consecutive_failures", "ejection_time")).map(m -> {
          PassiveHealthCheck d = PassiveHealthCheck.DEFAULT;
          return new PassiveHealthCheck(
              m.get("consecutive_failures").flatMap(f -> f.integer(0, MAX_CONSECUTIVE_FAILURES)).orElse(d.consecutiveFailures()),
              m.get("ejection_time").flatMap(ConfigNode::duration).orElse(d.ejectionTime()));
        });
  }

  private static Optional<CircuitBreaker> circuitBreaker(ConfigNode node) {
    return node.mapping(BREAKER, BREAKER_KEYS).map(m -> {
      CircuitBreaker d = CircuitBreaker.DEFAULT;
      return new CircuitBreaker(
          m.get("enabled").flatMap(ConfigNode::bool).orElse(d.enabled()),
          m.get("failure_rate").flatMap(UpstreamReader::failureRate).orElse(d.failureRatePercent()),
          m.get("minimum_calls").flatMap(c -> c.integer(1, MAX_MINIMUM_CALLS)).orElse(d.minimumCalls()),
          m.get("window").flatMap(UpstreamReader::breakerTime).orElse(d.window()),
          m.get("open_duration").flatMap(UpstreamReader::breakerTime).orElse(d.openDuration()),
          m.get("half_open_probes").flatMap(p -> p.integer(1, MAX_HALF_OPEN_PROBES)).orElse(d.halfOpenProbes()));
    });
  }

  private static Optional<Duration> breakerTime(ConfigNode node) {
    return node.duration(MIN_BREAKER_TIME, MAX_BREAKER_TIME, BREAKER_TIME);
  }

  /** {@code 50%} or {@code 50}: YAML reads the first as a string and the second as an integer. */
  private static Optional<Integer> failureRate(ConfigNode node) {
    if (node.json().isTextual()) {
      return node.matching(PERCENT, FAILURE_RATE).map(text -> Integer.parseInt(text.substring(0, text.length() - 1)));
    }
    return node.integer(1, 100, FAILURE_RATE);
  }
}
