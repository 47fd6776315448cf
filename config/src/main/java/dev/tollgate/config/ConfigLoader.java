package dev.tollgate.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the declarative gateway configuration (upstreams, routes, plans, consumers and identity
 * settings) from YAML or JSON and checks it whole: unknown keys, missing keys, malformed values and
 * broken references are all reported together, in document order, each as {@code path: value
 * (expected: ...)}. The format is described in the README and by the JSON Schema {@code
 * tollgate.schema.json}.
 */
public final class ConfigLoader {

  static final List<String> KEYS =
      List.of("upstreams", "routes", "plans", "consumers", "api_keys", "anonymous", "jwt", "rate_limit_headers",
          "consumer_headers");

  private static final String ROOT =
      "a mapping with upstreams, routes, plans, consumers, api_keys, anonymous, jwt, rate_limit_headers and/or"
          + " consumer_headers";
  static final String HEADER = "an HTTP header name such as X-Api-Key";

  private ConfigLoader() {}

  /** Reads and checks a UTF-8 file; errors name the file only for syntax errors and unreadable files. */
  public static GatewayConfig load(Path file) throws ConfigException {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
    } catch (NoSuchFileException e) {
      throw new ConfigException(new ConfigError(file.toString(), "no such file"));
    } catch (CharacterCodingException e) {
      throw new ConfigException(new ConfigError(file.toString(), "not UTF-8 text"));
    } catch (IOException e) {
      throw new ConfigException(new ConfigError(file.toString(), "cannot be read: " + e));
    }
    return parse(text, file.toString());
  }

  /**
   * Parses and checks a YAML or JSON document.
   *
   * @param sourceName names the document in syntax errors ({@code sourceName:line:column: ...})
   */
  public static GatewayConfig parse(String yamlOrJson, String sourceName) throws ConfigException {
    YamlTree tree = YamlTree.parse(yamlOrJson, sourceName);
    List<Upstream> upstreams = new ArrayList<>();
    List<Route> routes = new ArrayList<>();
    List<Plan> plans = new ArrayList<>();
    List<Consumer> consumers = new ArrayList<>();
    Identity identity = Identity.DEFAULT;
    boolean legacyHeaders = false;
    ConsumerHeaders consumerHeaders = ConsumerHeaders.DEFAULT;
    List<JwtIssuerSpec> jwt = new ArrayList<>();
    Optional<Mapping> found = tree.root().mapping(ROOT, KEYS);
    if (found.isPresent()) {
      Mapping root = found.get();
      UpstreamReader upstreamReader = new UpstreamReader();
      root.get("upstreams")
          .flatMap(u -> u.list("a list of upstreams"))
          .ifPresent(list -> list.forEach(u -> upstreamReader.read(u).ifPresent(upstreams::add)));
      JsonNode jwtWritten = root.node().json().get("jwt");
      boolean jwtIssuers = jwtWritten != null && jwtWritten.path("issuers").isArray() && !jwtWritten.path("issuers").isEmpty();
      RouteReader routeReader = new RouteReader(namesWritten(root.node().json().get("upstreams")), jwtIssuers);
      root.get("routes")
          .flatMap(r -> r.list("a list of routes"))
          .ifPresent(list -> list.forEach(r -> routeReader.read(r).ifPresent(routes::add)));
      PlanReader planReader = new PlanReader();
      root.get("plans")
          .flatMap(p -> p.list("a list of plans"))
          .ifPresent(list -> list.forEach(p -> planReader.read(p).ifPresent(plans::add)));
      List<String> planNames = namesWritten(root.node().json().get("plans"));
      ConsumerReader consumerReader = new ConsumerReader(planNames);
      root.get("consumers")
          .flatMap(c -> c.list("a list of consumers"))
          .ifPresent(list -> list.forEach(c -> consumerReader.read(c).ifPresent(consumers::add)));
      identity = identity(root, planNames);
      root.get("jwt").ifPresent(j -> jwt.addAll(new JwtReader(planNames).read(j)));
      legacyHeaders = root.get("rate_limit_headers")
          .flatMap(h -> h.mapping("a mapping with legacy", List.of("legacy")))
          .flatMap(h -> h.get("legacy"))
          .flatMap(ConfigNode::bool)
          .orElse(false);
      consumerHeaders = root.get("consumer_headers").flatMap(ConfigLoader::consumerHeaders).orElse(ConsumerHeaders.DEFAULT);
    }
    if (tree.errorCount() > 0) {
      throw new ConfigException(tree.errors());
    }
    return new GatewayConfig(upstreams, routes, plans, consumers, identity, jwt, legacyHeaders, consumerHeaders);
  }

  /** The top-level {@code consumer_headers}: the names of the headers that tell upstreams who called. */
  private static Optional<ConsumerHeaders> consumerHeaders(ConfigNode node) {
    return node.mapping("a mapping with id and/or groups", List.of("id", "groups")).flatMap(m -> {
      Optional<ConfigNode> groupsNode = m.get("groups");
      Optional<String> id = m.get("id").map(h -> h.matching(UpstreamReader.TOKEN, HEADER)).orElse(Optional.of(
          ConsumerHeaders.DEFAULT.id()));
      Optional<String> groups = groupsNode.map(h -> h.matching(UpstreamReader.TOKEN, HEADER)).orElse(Optional.of(
          ConsumerHeaders.DEFAULT.groups()));
      if (id.isEmpty() || groups.isEmpty()) {
        return Optional.empty();
      }
      if (id.get().equalsIgnoreCase(groups.get())) {
        (groupsNode.isPresent() ? groupsNode.get() : m.get("id").get()).invalid("a header other than id's");
        return Optional.empty();
      }
      return Optional.of(new ConsumerHeaders(id.get(), groups.get()));
    });
  }

  /** The top-level {@code api_keys} and {@code anonymous} settings. */
  private static Identity identity(Mapping root, List<String> planNames) {
    // A list here is most likely keys written in the wrong place: not shown in the error.
    String header = root.get("api_keys")
        .map(k -> k.json().isObject() ? k : k.hidden())
        .flatMap(k -> k.mapping("a mapping with header", List.of("header")))
        .flatMap(k -> k.get("header"))
        .flatMap(h -> h.matching(UpstreamReader.TOKEN, HEADER))
        .orElse(Identity.DEFAULT.apiKeyHeader());
    Optional<String> anonymousPlan = root.get("anonymous")
        .flatMap(a -> a.mapping("a mapping with plan", List.of("plan")))
        .flatMap(a -> a.get("plan"))
        .flatMap(p -> PlanReader.reference(p, planNames));
    return new Identity(header, anonymousPlan);
  }

  /**
   * Every name written for an upstream or a plan, valid or not, so that a reference to it is not
   * also blamed for an entry whose own error is already reported.
   */
  private static List<String> namesWritten(JsonNode entries) {
    Set<String> names = new LinkedHashSet<>();
    if (entries != null && entries.isArray()) {
      for (JsonNode entry : entries) {
        JsonNode name = entry.get("name");
        if (name != null && name.isTextual()) {
          names.add(name.textValue());
        }
      }
    }
    return List.copyOf(names);
  }
}
