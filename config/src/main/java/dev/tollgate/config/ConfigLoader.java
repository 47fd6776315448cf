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
import java.util.Set;

/**
 * Reads the declarative gateway configuration (upstreams and routes) from YAML or JSON and checks
 * it whole: unknown keys, missing keys, malformed values and broken references are all reported
 * together, in document order, each as {@code path: value (expected: ...)}. The format is described
 * in the README and by the JSON Schema {@code tollgate.schema.json}.
 */
public final class ConfigLoader {

  static final List<String> KEYS = List.of("upstreams", "routes");

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
    tree.root().mapping("a mapping with upstreams and/or routes", KEYS).ifPresent(root -> {
      UpstreamReader upstreamReader = new UpstreamReader();
      root.get("upstreams")
          .flatMap(u -> u.list("a list of upstreams"))
          .ifPresent(list -> list.forEach(u -> upstreamReader.read(u).ifPresent(upstreams::add)));
      RouteReader routeReader = new RouteReader(upstreamNames(root.node().json().get("upstreams")));
      root.get("routes")
          .flatMap(r -> r.list("a list of routes"))
          .ifPresent(list -> list.forEach(r -> routeReader.read(r).ifPresent(routes::add)));
    });
    if (tree.errorCount() > 0) {
      throw new ConfigException(tree.errors());
    }
    return new GatewayConfig(upstreams, routes);
  }

  /**
   * Every name written for an upstream, valid or not, so that a route is not also blamed for an
   * upstream whose own error is already reported.
   */
  private static List<String> upstreamNames(JsonNode upstreams) {
    Set<String> names = new LinkedHashSet<>();
    if (upstreams != null && upstreams.isArray()) {
      for (JsonNode upstream : upstreams) {
        JsonNode name = upstream.get("name");
        if (name != null && name.isTextual()) {
          names.add(name.textValue());
        }
      }
    }
    return List.copyOf(names);
  }
}
