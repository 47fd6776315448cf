package dev.tollgate.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A value of the configuration tree at a known path. Its readers return the typed value, or report
 * an error naming the path, the value and what was expected and return empty, so a caller can go on
 * and find the next error.
 */
final class ConfigNode {

  static final String DURATION = "a duration such as 250ms, 5s, 1m, 1h, 1d";
  static final String POSITIVE_DURATION = "a positive duration such as 250ms, 5s, 1m, 1h, 1d";
  static final String SIZE = "a size in bytes such as 1048576, 512KiB, 10MB or 1GiB";
  static final String BOOLEAN = "true or false";

  private static final Pattern DURATION_TEXT = Pattern.compile("([0-9]+)(ms|s|m|h|d)");
  private static final Pattern SIZE_TEXT = Pattern.compile("([0-9]+)(B|KB|MB|GB|KiB|MiB|GiB)");
  private static final Map<String, Long> SIZE_UNITS = Map.of(
      "B", 1L, "KB", 1000L, "MB", 1000_000L, "GB", 1000_000_000L,
      "KiB", 1L << 10, "MiB", 1L << 20, "GiB", 1L << 30);
  private static final int SHOWN_VALUE_LENGTH = 60;
  /** Shown instead of a value that may be a plain-text API key. */
  static final String HIDDEN = "(hidden)";

  private final YamlTree tree;
  private final String path;
  private final JsonNode json;
  private final boolean hidden;

  ConfigNode(YamlTree tree, String path, JsonNode json) {
    this(tree, path, json, false);
  }

  private ConfigNode(YamlTree tree, String path, JsonNode json, boolean hidden) {
    this.tree = tree;
    this.path = path;
    this.json = json;
    this.hidden = hidden;
  }

  String path() {
    return path;
  }

  JsonNode json() {
    return json;
  }

  YamlTree tree() {
    return tree;
  }

  /**
   * This value, and every value read from inside it, reported as {@code (hidden)} rather than
   * shown: for API keys, which must never reach an error message or a log.
   */
  ConfigNode hidden() {
    return new ConfigNode(tree, path, json, true);
  }

  /** A value inside this one; hidden if this one is. */
  ConfigNode inner(String innerPath, JsonNode value) {
    return new ConfigNode(tree, innerPath, value, hidden);
  }

  /** Reports that this value is not what was expected. */
  void invalid(String expectation) {
    tree.report(path, (hidden ? HIDDEN : shown(json)) + " (expected: " + expectation + ")");
  }

  /** The value as JSON, shortened when long, with anything that may be an API key hidden. */
  static String shown(JsonNode value) {
    String text = withoutKeys(value).toString();
    return text.length() <= SHOWN_VALUE_LENGTH ? text : text.substring(0, SHOWN_VALUE_LENGTH - 3) + "...";
  }

  /**
   * A copy of {@code value} in which the values of {@code key} and {@code sha256}, and an {@code
   * api_keys} that is not a mapping, read {@code (hidden)}: a consumer written in the wrong shape
   * (a mapping instead of a list, say) is shown whole, and must not show its keys.
   */
  private static JsonNode withoutKeys(JsonNode value) {
    if (value.isObject()) {
      ObjectNode copy = JsonNodeFactory.instance.objectNode();
      for (Map.Entry<String, JsonNode> field : value.properties()) {
        String name = field.getKey();
        boolean secret = name.equals("key") || name.equals("sha256")
            || (name.equals("api_keys") && !field.getValue().isObject());
        copy.set(name, secret ? JsonNodeFactory.instance.textNode(HIDDEN) : withoutKeys(field.getValue()));
      }
      return copy;
    }
    if (value.isArray()) {
      ArrayNode copy = JsonNodeFactory.instance.arrayNode();
      value.forEach(element -> copy.add(withoutKeys(element)));
      return copy;
    }
    return value;
  }

  /** A mapping with only the given keys; any other key is reported (with a suggestion). */
  Optional<Mapping> mapping(String expectation, List<String> keys) {
    if (!json.isObject()) {
      invalid(expectation);
      return Optional.empty();
    }
    return Optional.of(new Mapping(this, keys));
  }

  Optional<List<ConfigNode>> list(String expectation) {
    if (!json.isArray()) {
      invalid(expectation);
      return Optional.empty();
    }
    List<ConfigNode> elements = new ArrayList<>();
    for (int i = 0; i < json.size(); i++) {
      elements.add(inner(YamlTree.element(path, i), json.get(i)));
    }
    return Optional.of(elements);
  }

  Optional<String> string(String expectation) {
    if (!json.isTextual()) {
      invalid(expectation);
      return Optional.empty();
    }
    return Optional.of(json.textValue());
  }

  Optional<String> matching(Pattern pattern, String expectation) {
    return string(expectation).filter(s -> {
      if (pattern.matcher(s).matches()) {
        return true;
      }
      invalid(expectation);
      return false;
    });
  }

  Optional<Integer> integer(int min, int max) {
    return integer(min, max, "an integer from " + min + " to " + max);
  }

  Optional<Integer> integer(int min, int max, String expectation) {
    if (!json.isIntegralNumber() || !json.canConvertToInt() || json.intValue() < min || json.intValue() > max) {
      invalid(expectation);
      return Optional.empty();
    }
    return Optional.of(json.intValue());
  }

  /** A whole number in {@code min..max}, for counts that may exceed an {@code int}. */
  Optional<Long> longInteger(long min, long max, String expectation) {
    if (!json.isIntegralNumber() || !json.canConvertToLong() || json.longValue() < min || json.longValue() > max) {
      invalid(expectation);
      return Optional.empty();
    }
    return Optional.of(json.longValue());
  }

  Optional<Boolean> bool() {
    if (!json.isBoolean()) {
      invalid(BOOLEAN);
      return Optional.empty();
    }
    return Optional.of(json.booleanValue());
  }

  /** One of a fixed set of words, such as a balancer name. */
  <E> Optional<E> word(Map<String, E> words, String expectation) {
    if (json.isTextual() && words.containsKey(json.textValue())) {
      return Optional.of(words.get(json.textValue()));
    }
    invalid(expectation);
    return Optional.empty();
  }

  /** A positive duration written {@code 250ms}, {@code 5s}, {@code 1m}, {@code 1h} or {@code 1d}. */
  Optional<Duration> duration() {
    Optional<Duration> d = parsedDuration();
    if (d.isEmpty()) {
      invalid(DURATION);
      return Optional.empty();
    }
    if (d.get().isZero()) {
      invalid(POSITIVE_DURATION);
      return Optional.empty();
    }
    return d;
  }

  /**
   * A duration written as {@link #duration()} takes it, from {@code min} to {@code max}; a value out
   * of range and one that is no duration at all are both reported with {@code expectation}.
   */
  Optional<Duration> duration(Duration min, Duration max, String expectation) {
    Optional<Duration> d = parsedDuration();
    if (d.isEmpty() || d.get().compareTo(min) < 0 || d.get().compareTo(max) > 0) {
      invalid(expectation);
      return Optional.empty();
    }
    return d;
  }

  /** The duration written, zero included; empty when it is not one or does not fit. */
  private Optional<Duration> parsedDuration() {
    Matcher m = json.isTextual() ? DURATION_TEXT.matcher(json.textValue()) : null;
    if (m == null || !m.matches()) {
      return Optional.empty();
    }
    try {
      long amount = Long.parseLong(m.group(1));
      return Optional.of(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        case "h" -> Duration.ofHours(amount);
        default -> Duration.ofDays(amount);
      });
    } catch (ArithmeticException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** A byte count: a non-negative integer, or a number with a unit (KB = 1000, KiB = 1024). */
  Optional<Long> size() {
    if (json.isIntegralNumber() && json.canConvertToLong() && json.longValue() >= 0) {
      return Optional.of(json.longValue());
    }
    Matcher m = json.isTextual() ? SIZE_TEXT.matcher(json.textValue()) : null;
    if (m != null && m.matches()) {
      try {
        return Optional.of(Math.multiplyExact(Long.parseLong(m.group(1)), SIZE_UNITS.get(m.group(2))));
      } catch (ArithmeticException | NumberFormatException e) {
        // too large: reported below like any other bad size
      }
    }
    invalid(SIZE);
    return Optional.empty();
  }

  /** A java.util.regex regular expression, compiled. */
  Optional<Pattern> regex() {
    Optional<String> text = string("a regular expression");
    if (text.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Pattern.compile(text.get()));
    } catch (PatternSyntaxException e) {
      invalid("a valid regular expression; " + e.getDescription() + " near index " + e.getIndex());
      return Optional.empty();
    }
  }
}
