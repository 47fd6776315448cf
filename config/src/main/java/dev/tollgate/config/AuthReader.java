package dev.tollgate.config;

import dev.tollgate.config.RouteAuth.Credential;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads a route's {@code auth} into a {@link RouteAuth}, reporting every problem it finds. */
final class AuthReader {

  static final List<String> KEYS = List.of("accept", "api_key", "allow");
  static final Pattern GROUP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}");
  static final String GROUP_EXPECTED =
      "a group name of 1 to 128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit";
  private static final Pattern QUERY_NAME = Pattern.compile("[A-Za-z0-9._~-]{1,64}");
  private static final Map<String, Credential> CREDENTIALS =
      Map.of("api_key", Credential.API_KEY, "jwt", Credential.JWT, "anonymous", Credential.ANONYMOUS);
  private static final String CREDENTIAL = "one of api_key, jwt, anonymous";
  private static final String ACCEPT = "a non-empty list of the kinds of caller the route takes: api_key, jwt, anonymous";

  private AuthReader() {}

  /** @param jwtIssuers whether the file declares any {@code jwt.issuers}, which {@code jwt} in accept needs */
  static Optional<RouteAuth> read(ConfigNode node, boolean jwtIssuers) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("a mapping with accept, api_key and/or allow", KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    Optional<ConfigNode> acceptNode = m.get("accept");
    Optional<Set<Credential>> accept = acceptNode.flatMap(AuthReader::accept);
    Optional<ConfigNode> apiKeyNode = m.get("api_key");
    RouteAuth.ApiKeySource apiKey = apiKeyNode.flatMap(AuthReader::apiKey).orElse(RouteAuth.ApiKeySource.DEFAULT);
    Optional<ConfigNode> allowNode = m.get("allow");
    Optional<RouteAuth.Allow> allow = allowNode.flatMap(AuthReader::allow);
    // Without accept, a route that restricts who may use it takes only callers that identify themselves.
    Set<Credential> kinds = accept.orElse(allowNode.isPresent()
        ? EnumSet.of(Credential.API_KEY) : RouteAuth.DEFAULT.accept());
    if (accept.isPresent() && kinds.contains(Credential.JWT) && !jwtIssuers) {
      acceptNode.get().invalid("jwt only with jwt.issuers, which this file does not declare");
    }
    if (accept.isPresent() && apiKeyNode.isPresent() && !kinds.contains(Credential.API_KEY)) {
      apiKeyNode.get().invalid("no api_key settings, since accept does not list api_key");
    }
    if (accept.isPresent() && allowNode.isPresent() && kinds.contains(Credential.ANONYMOUS)) {
      allowNode.get().invalid("no allow on a route that accepts anonymous callers, who belong to no group;"
          + " remove anonymous from accept");
    }
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new RouteAuth(kinds, apiKey, allow));
  }

  private static Optional<Set<Credential>> accept(ConfigNode node) {
    Optional<List<ConfigNode>> entries = node.list(ACCEPT);
    if (entries.isEmpty()) {
      return Optional.empty();
    }
    if (entries.get().isEmpty()) {
      node.invalid(ACCEPT);
      return Optional.empty();
    }
    Set<Credential> kinds = EnumSet.noneOf(Credential.class);
    boolean ok = true;
    for (ConfigNode entry : entries.get()) {
      Optional<Credential> kind = entry.word(CREDENTIALS, CREDENTIAL);
      if (kind.isEmpty()) {
        ok = false;
      } else if (!kinds.add(kind.get())) {
        entry.invalid("each kind of caller once; " + entry.json().textValue() + " is listed before");
        ok = false;
      }
    }
    return ok ? Optional.of(kinds) : Optional.empty();
  }

  private static Optional<RouteAuth.ApiKeySource> apiKey(ConfigNode node) {
    return node.mapping("a mapping with header, query and/or keep", List.of("header", "query", "keep")).map(m ->
        new RouteAuth.ApiKeySource(
            m.get("header").flatMap(h -> h.matching(UpstreamReader.TOKEN, ConfigLoader.HEADER)),
            m.get("query").flatMap(q -> q.matching(QUERY_NAME,
                "a query parameter name of 1 to 64 letters, digits, '.', '_', '~' or '-'")),
            m.get("keep").flatMap(ConfigNode::bool).orElse(false)));
  }

  private static Optional<RouteAuth.Allow> allow(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("a mapping with groups and/or consumers", List.of("groups", "consumers"));
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    List<String> groups = m.get("groups").map(g -> names(g, GROUP, GROUP_EXPECTED, "a list of group names"))
        .orElse(List.of());
    List<String> consumers = m.get("consumers")
        .map(c -> names(c, ConsumerReader.ID, ConsumerReader.ID_EXPECTED, "a list of consumer ids"))
        .orElse(List.of());
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    if (groups.isEmpty() && consumers.isEmpty()) {
      node.invalid("at least one group or consumer in groups or consumers");
      return Optional.empty();
    }
    return Optional.of(new RouteAuth.Allow(groups, consumers));
  }

  /** A list of distinct names, each matching {@code pattern}; reports bad and repeated entries. */
  static List<String> names(ConfigNode node, Pattern pattern, String expected, String listExpected) {
    Set<String> names = new LinkedHashSet<>();
    for (ConfigNode entry : node.list(listExpected).orElse(List.of())) {
      entry.matching(pattern, expected).ifPresent(name -> {
        if (!names.add(name)) {
          entry.invalid("each name once; " + name + " is listed before");
        }
      });
    }
    return new ArrayList<>(names);
  }
}
