package dev.tollgate.config;

import com.fasterxml.jackson.databind.JsonNode;
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

  private final YamlTree tree;
  private final String path;
  private final JsonNode json;

  ConfigNode(YamlTree tree, String path, JsonNode json) {
    this.tree = tree;
    this.path = path;
    this.json = json;
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

  /** Reports that this value is not what was expected. */
  void invalid(String expectation) {
    tree.report(path, shown(json) + " (expected: " + expectation + ")");
  }

  /** The value as JSON, shortened when long. */
  static String shown(JsonNode value) {
    String text = value.toString();
    return text.length() <= SHOWN_VALUE_LENGTH ? text : text.substring(0, SHOWN_VALUE_LENGTH - 3) + "...";
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
      elements.add(new ConfigNode(tree, YamlTree.element(path, i), json.get(i)));
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
    Matcher m = json.isTextual() ? DURATION_TEXT.matcher(json.textValue()) : null;
    if (m == null || !m.matches()) {
      invalid(DURATION);
      return Optional.empty();
    }
    Duration d;
    try {
      long amount = Long.parseLong(m.group(1));
      d = switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        case "h" -> Duration.ofHours(amount);
        default -> Duration.ofDays(amount);
      };
    } catch (ArithmeticException | NumberFormatException e) {
      invalid(DURATION);
      return Optional.empty();
    }
    if (d.isZero()) {
      invalid(POSITIVE_DURATION);
      return Optional.empty();
    }
    return Optional.of(d);
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
