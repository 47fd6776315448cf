package dev.tollgate.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML (or JSON) document read into a {@link JsonNode} tree that remembers where each value
 * starts and where each mapping ends, so errors found while walking the tree in any order can be
 * reported in document order. Also the sink for those errors.
 *
 * <p>Paths are written as in error messages: {@code routes[0].match.paths[1]}; the root is {@code ""}.
 */
final class YamlTree {

  static final String ROOT_NAME = "(root)";

  private static final YAMLFactory YAML = new YAMLFactory();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private record Position(int line, int column) implements Comparable<Position> {
    static final Comparator<Position> ORDER = Comparator.comparingInt(Position::line).thenComparingInt(Position::column);

    static Position of(JsonLocation location) {
      return new Position(location.getLineNr(), location.getColumnNr());
    }

    @Override
    public int compareTo(Position o) {
      return ORDER.compare(this, o);
    }
  }

  private record Found(Position at, int sequence, ConfigError error) {}

  private final JsonNode root;
  private final Map<String, Position> starts = new HashMap<>();
  private final Map<String, Position> ends = new HashMap<>();
  private final List<Found> found = new ArrayList<>();
  private Position documentEnd = new Position(Integer.MAX_VALUE, 0);

  private YamlTree(String text, String sourceName) throws ConfigException {
    try (JsonParser parser = YAML.createParser(text)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        root = NODES.objectNode();
        starts.put("", new Position(1, 1));
        ends.put("", new Position(1, 1));
        return;
      }
      root = value(parser, "");
      JsonToken extra = parser.nextToken();
      if (extra != null) {
        Position at = Position.of(parser.currentTokenLocation());
        throw new ConfigException(new ConfigError(
            sourceName + ":" + at.line() + ":" + at.column(),
            "a second YAML document (expected: a single document; remove the --- separator)"));
      }
      documentEnd = Position.of(parser.currentLocation());
    } catch (JsonProcessingException e) {
      throw new ConfigException(syntaxError(e, sourceName));
    } catch (IOException e) {
      throw new ConfigException(new ConfigError(sourceName, "cannot be read: " + e.getMessage()));
    }
  }

  /** Parses {@code text}; a YAML syntax error is reported as {@code source:line:column: problem}. */
  static YamlTree parse(String text, String sourceName) throws ConfigException {
    return new YamlTree(text, sourceName);
  }

  private static ConfigError syntaxError(JsonProcessingException e, String sourceName) {
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null) {
      String problem = m.getProblem();
      String message = m.getContext() == null ? problem : m.getContext() + ": " + problem;
      return new ConfigError(
          sourceName + ":" + (m.getProblemMark().getLine() + 1) + ":" + (m.getProblemMark().getColumn() + 1),
          message);
    }
    JsonLocation location = e.getLocation();
    String where = location == null ? sourceName : sourceName + ":" + location.getLineNr() + ":" + location.getColumnNr();
    return new ConfigError(where, e.getOriginalMessage());
  }

  private JsonNode value(JsonParser parser, String path) throws IOException {
    starts.put(path, Position.of(parser.currentTokenLocation()));
    JsonToken token = parser.currentToken();
    switch (token) {
      case START_OBJECT: {
        ObjectNode object = NODES.objectNode();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String key = parser.currentName();
          Position keyAt = Position.of(parser.currentTokenLocation());
          String childPath = child(path, key);
          parser.nextToken();
          if (object.has(key)) {
            report(keyAt, childPath, "duplicate key (expected: each key once per mapping)");
            value(parser, childPath + "(duplicate)");
          } else {
            object.set(key, value(parser, childPath));
          }
        }
        ends.put(path, Position.of(parser.currentTokenLocation()));
        return object;
      }
      case START_ARRAY: {
        ArrayNode array = NODES.arrayNode();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          array.add(value(parser, element(path, array.size())));
        }
        ends.put(path, Position.of(parser.currentTokenLocation()));
        return array;
      }
      case VALUE_STRING:
        return NODES.textNode(parser.getText());
      case VALUE_NUMBER_INT:
        switch (parser.getNumberType()) {
          case INT:
            return NODES.numberNode(parser.getIntValue());
          case LONG:
            return NODES.numberNode(parser.getLongValue());
          default:
            return NODES.numberNode(parser.getBigIntegerValue());
        }
      case VALUE_NUMBER_FLOAT:
        return NODES.numberNode(parser.getDecimalValue());
      case VALUE_TRUE:
        return NODES.booleanNode(true);
      case VALUE_FALSE:
        return NODES.booleanNode(false);
      case VALUE_NULL:
        return NODES.nullNode();
      default:
        // !!binary and other embedded values: keep their text so the reader can reject them by type
        return NODES.textNode(parser.getText());
    }
  }

  static String child(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  static String element(String path, int index) {
    return path + "[" + index + "]";
  }

  static String display(String path) {
    return path.isEmpty() ? ROOT_NAME : path;
  }

  /** The root value at path {@code ""}. */
  ConfigNode root() {
    return new ConfigNode(this, "", root);
  }

  /** An error about the value at {@code path}, placed where that value starts. */
  void report(String path, String message) {
    report(startOf(path), path, message);
  }

  /** An error about a key missing from the mapping at {@code mappingPath}, placed where the mapping ends. */
  void reportMissing(String mappingPath, String key, String expectation) {
    Position at = ends.getOrDefault(mappingPath, startOf(mappingPath));
    report(at, child(mappingPath, key), "missing (expected: " + expectation + ")");
  }

  private void report(Position at, String path, String message) {
    found.add(new Found(at, found.size(), new ConfigError(display(path), message)));
  }

  private Position startOf(String path) {
    String p = path;
    while (true) {
      Position at = starts.get(p);
      if (at != null) {
        return at;
      }
      if (p.isEmpty()) {
        return documentEnd;
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut < 0 ? "" : p.substring(0, cut);
    }
  }

  int errorCount() {
    return found.size();
  }

  /** Every error reported so far, in document order (ties in the order they were reported). */
  List<ConfigError> errors() {
    return found.stream()
        .sorted(Comparator.comparing(Found::at).thenComparingInt(Found::sequence))
        .map(Found::error)
        .toList();
  }
}
