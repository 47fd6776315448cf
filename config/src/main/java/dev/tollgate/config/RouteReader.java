package dev.tollgate.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads one entry of {@code routes} into a {@link Route}, reporting every problem it finds. */
final class RouteReader {

  static final List<String> KEYS = List.of(
      "name", "priority", "match", "strip_prefix", "rewrite", "upstream", "timeout", "max_body", "retry_non_idempotent",
      "rate_limit", "auth");
  static final int MAX_PRIORITY = 1000;

  static final String STRIP_PREFIX_WITH_REGEX =
      "strip_prefix applies to exact and prefix paths; use rewrite with regex paths";

  private static final String MATCH = "a mapping of hosts, paths, methods, headers and/or query; {} matches every request";
  private static final String HOST =
      "a host name such as api.example.com or a wildcard such as *.example.com, without a port";
  private static final String PATH = "a path starting with / and without ? or #, such as /api";
  private static final String PATH_ENTRY = "a path such as /api, or a mapping with one of exact, prefix or regex";
  private static final String METHOD = "an upper-case HTTP method such as GET or POST";
  private static final Pattern PATH_TEXT = Pattern.compile("/[^?#]*");
  private static final Pattern METHOD_TEXT = Pattern.compile("[A-Z][A-Z_-]*");
  private static final Map<String, RouteLimits.Key> BY = Map.of(
      "consumer", RouteLimits.Key.CONSUMER, "client_ip", RouteLimits.Key.CLIENT_IP);
  private static final Pattern NAMED_GROUP = Pattern.compile("(?<!\\\\)\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

  private final List<String> upstreamNames;
  private final Map<String, String> namesSeen = new LinkedHashMap<>();

  private final boolean jwtIssuers;

  /**
   * @param upstreamNames the names of the file's upstreams, in file order, for checking references
   * @param jwtIssuers whether the file declares JWT issuers
   */
  RouteReader(List<String> upstreamNames, boolean jwtIssuers) {
    this.upstreamNames = List.copyOf(upstreamNames);
    this.jwtIssuers = jwtIssuers;
  }

  Optional<Route> read(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("a route, a mapping with at least name, match and upstream", KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    String name = m.require("name", UpstreamReader.NAME_EXPECTED).flatMap(this::uniqueName).orElse(null);
    int priority = m.get("priority").flatMap(p -> p.integer(-MAX_PRIORITY, MAX_PRIORITY)).orElse(0);
    RouteMatch match = m.require("match", MATCH).flatMap(RouteReader::match).orElse(null);
    Optional<ConfigNode> stripNode = m.get("strip_prefix");
    boolean stripPrefix = stripNode.flatMap(ConfigNode::bool).orElse(false);
    if (stripPrefix && match != null && match.paths().stream().anyMatch(p -> p.kind() == PathMatch.Kind.REGEX)) {
      stripNode.get().invalid("false, since " + STRIP_PREFIX_WITH_REGEX);
    }
    Optional<PathRewrite> rewrite = m.get("rewrite").flatMap(RouteReader::rewrite);
    String upstream = m.require("upstream", "the name of an upstream").flatMap(this::upstreamReference).orElse(null);
    Optional<Duration> timeout = m.get("timeout").flatMap(ConfigNode::duration);
    OptionalLong maxBody = m.get("max_body").flatMap(ConfigNode::size).map(OptionalLong::of).orElse(OptionalLong.empty());
    boolean retryNonIdempotent = m.get("retry_non_idempotent").flatMap(ConfigNode::bool).orElse(false);
    Optional<RouteLimits> rateLimit = m.get("rate_limit").flatMap(RouteReader::rateLimit);
    RouteAuth auth = m.get("auth").flatMap(a -> AuthReader.read(a, jwtIssuers)).orElse(RouteAuth.DEFAULT);
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new Route(name, priority, match, stripPrefix, rewrite, upstream, timeout, maxBody, retryNonIdempotent,
        rateLimit, auth));
  }

  private static Optional<RouteLimits> rateLimit(ConfigNode node) {
    return node.mapping("a mapping with limits and optional by and on_unavailable", List.of("by", "limits", "on_unavailable"))
        .flatMap(m -> {
          RouteLimits.Key by = m.get("by").flatMap(b -> b.word(BY, "one of consumer, client_ip")).orElse(RouteLimits.Key.CONSUMER);
          Optional<List<Limit>> limits = m.require("limits", LimitReader.LIMITS).flatMap(LimitReader::limits);
          OnUnavailable onUnavailable =
              m.get("on_unavailable").flatMap(LimitReader::onUnavailable).orElse(OnUnavailable.LOCAL_SHARE);
          return limits.map(l -> new RouteLimits(by, l, onUnavailable));
        });
  }

  private Optional<String> uniqueName(ConfigNode node) {
    return node.matching(UpstreamReader.NAME, UpstreamReader.NAME_EXPECTED).filter(name -> {
      String first = namesSeen.putIfAbsent(name, YamlTree.display(node.path()));
      if (first != null) {
        node.invalid("a name no other route has; " + first + " has it");
        return false;
      }
      return true;
    });
  }

  private Optional<String> upstreamReference(ConfigNode node) {
    return node.string("the name of an upstream").filter(name -> {
      if (upstreamNames.contains(name)) {
        return true;
      }
      node.invalid(upstreamNames.isEmpty()
          ? "the name of an upstream, but none are defined"
          : "one of the upstream names: " + String.join(", ", upstreamNames));
      return false;
    });
  }

  private static Optional<RouteMatch> match(ConfigNode node) {
    return node.mapping(MATCH, List.of("hosts", "paths", "methods", "headers", "query")).map(m -> new RouteMatch(
        m.get("hosts").map(RouteReader::hosts).orElse(List.of()),
        m.get("paths").map(RouteReader::paths).orElse(List.of()),
        m.get("methods").map(RouteReader::methods).orElse(Set.of()),
        m.get("headers").map(h -> fields(h, true)).orElse(List.of()),
        m.get("query").map(q -> fields(q, false)).orElse(List.of())));
  }

  // The list readers below skip entries they reported; read() then discards the route.

  private static List<String> hosts(ConfigNode node) {
    List<String> hosts = new ArrayList<>();
    for (ConfigNode element : node.list("a list of host names").orElse(List.of())) {
      element.string(HOST).ifPresent(host -> {
        String name = host.startsWith("*.") ? host.substring(2) : host;
        if (HostName.isNameOrIpv4(name)) {
          hosts.add(host.toLowerCase(Locale.ROOT));
        } else {
          element.invalid(HOST);
        }
      });
    }
    return hosts;
  }

  private static List<PathMatch> paths(ConfigNode node) {
    List<PathMatch> paths = new ArrayList<>();
    for (ConfigNode element : node.list("a list of paths").orElse(List.of())) {
      if (element.json().isTextual()) {
        element.matching(PATH_TEXT, PATH).map(PathMatch::prefix).ifPresent(paths::add);
      } else if (element.json().isObject()) {
        pathMatch(element).ifPresent(paths::add);
      } else {
        element.invalid(PATH_ENTRY);
      }
    }
    return paths;
  }

  private static Optional<PathMatch> pathMatch(ConfigNode node) {
    List<String> kinds = List.of("exact", "prefix", "regex");
    Mapping m = new Mapping(node, kinds);
    List<String> given = kinds.stream().filter(m::has).toList();
    if (given.isEmpty()) {
      if (!m.hasUnknownKeys()) {
        node.invalid("one of exact, prefix or regex");
      }
      return Optional.empty();
    }
    for (String extra : given.subList(1, given.size())) {
      m.get(extra).get().invalid("only one of exact, prefix or regex per path; " + given.get(0) + " is given");
    }
    if (given.size() > 1) {
      return Optional.empty();
    }
    ConfigNode value = m.get(given.get(0)).get();
    switch (given.get(0)) {
      case "exact":
        return value.matching(PATH_TEXT, PATH).map(PathMatch::exact);
      case "prefix":
        return value.matching(PATH_TEXT, PATH).map(PathMatch::prefix);
      default:
        return value.regex().map(p -> PathMatch.regex(p.pattern()));
    }
  }

  private static Set<String> methods(ConfigNode node) {
    Set<String> methods = new LinkedHashSet<>();
    for (ConfigNode element : node.list("a list of HTTP methods").orElse(List.of())) {
      element.matching(METHOD_TEXT, METHOD).ifPresent(methods::add);
    }
    return methods;
  }

  private static List<FieldMatch> fields(ConfigNode node, boolean headers) {
    String what = headers ? "header" : "query parameter";
    List<FieldMatch> fields = new ArrayList<>();
    List<String> conditions = List.of("value", "regex", "present");
    for (ConfigNode element : node.list("a list of " + what + " conditions").orElse(List.of())) {
      Optional<Mapping> found = element.mapping(
          "a " + what + " condition, a mapping with name and one of value, regex or present",
          List.of("name", "value", "regex", "present"));
      if (found.isEmpty()) {
        continue;
      }
      Mapping m = found.get();
      Optional<String> name = headers
          ? m.require("name", "an HTTP header name such as X-Api-Version")
              .flatMap(n -> n.matching(UpstreamReader.TOKEN, "an HTTP header name such as X-Api-Version"))
          : m.require("name", "a query parameter name").flatMap(n -> n.matching(Pattern.compile(".+"), "a query parameter name"));
      List<String> given = conditions.stream().filter(m::has).toList();
      if (given.isEmpty()) {
        if (!m.hasUnknownKeys()) {
          element.invalid("one of value, regex or present beside name");
        }
        continue;
      }
      for (String extra : given.subList(1, given.size())) {
        m.get(extra).get().invalid("only one of value, regex or present; " + given.get(0) + " is given");
      }
      if (given.size() > 1) {
        continue;
      }
      ConfigNode condition = m.get(given.get(0)).get();
      Optional<FieldMatch> field;
      switch (given.get(0)) {
        case "value":
          field = condition.string("a string; quote values such as \"1\" or \"true\"")
              .flatMap(v -> name.map(n -> FieldMatch.exact(n, v)));
          break;
        case "regex":
          field = condition.regex().flatMap(p -> name.map(n -> FieldMatch.regex(n, p.pattern())));
          break;
        default:
          field = condition.bool().flatMap(p -> name.map(n -> p ? FieldMatch.present(n) : FieldMatch.absent(n)));
      }
      field.ifPresent(fields::add);
    }
    return fields;
  }

  private static Optional<PathRewrite> rewrite(ConfigNode node) {
    return node.mapping("a mapping with regex and replacement", List.of("regex", "replacement")).flatMap(m -> {
      Optional<Pattern> regex = m.require("regex", "a regular expression").flatMap(ConfigNode::regex);
      Optional<ConfigNode> replacementNode = m.require("replacement", "a replacement such as /v2/$1");
      Optional<String> replacement = replacementNode.flatMap(r -> r.string("a replacement such as /v2/$1"));
      if (regex.isEmpty() || replacement.isEmpty()) {
        return Optional.empty();
      }
      Optional<String> problem = replacementProblem(replacement.get(), regex.get());
      if (problem.isPresent()) {
        replacementNode.get().invalid(problem.get());
        return Optional.empty();
      }
      return Optional.of(new PathRewrite(regex.get().pattern(), replacement.get()));
    });
  }

  /**
   * What {@link Matcher#appendReplacement} would fail on, checked up front: {@code $n} and
   * {@code ${name}} must name groups of the regex, {@code \} must escape something.
   */
  static Optional<String> replacementProblem(String replacement, Pattern regex) {
    int groups = regex.matcher("").groupCount();
    Set<String> names = new HashSet<>();
    Matcher named = NAMED_GROUP.matcher(regex.pattern());
    while (named.find()) {
      names.add(named.group(1));
    }
    String refs = (groups == 0 ? "only the group reference $0" : "group references $0 to $" + groups)
        + (names.isEmpty() ? "" : " or ${name} for " + String.join(", ", new java.util.TreeSet<>(names)));
    for (int i = 0; i < replacement.length(); i++) {
      char c = replacement.charAt(i);
      if (c == '\\') {
        if (i + 1 == replacement.length()) {
          return Optional.of("a replacement whose \\ escapes a character; write \\\\ for a backslash");
        }
        i++;
      } else if (c == '$') {
        if (i + 1 == replacement.length()) {
          return Optional.of("a replacement with " + refs + "; write \\$ for a dollar sign");
        }
        char next = replacement.charAt(i + 1);
        if (next == '{') {
          int close = replacement.indexOf('}', i);
          String name = close < 0 ? "" : replacement.substring(i + 2, close);
          if (!names.contains(name)) {
            return Optional.of("a replacement with " + refs + "; the regex has no group named \"" + name + "\"");
          }
          i = close;
        } else if (next >= '0' && next <= '9') {
          int group = next - '0';
          if (group > groups) {
            return Optional.of("a replacement with " + refs + "; the regex has no group " + group);
          }
          i++;
        } else {
          return Optional.of("a replacement with " + refs + "; write \\$ for a dollar sign");
        }
      }
    }
    return Optional.empty();
  }
}
