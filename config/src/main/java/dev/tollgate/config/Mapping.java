package dev.tollgate.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A YAML mapping being read. Keys outside the allowed set are reported as soon as it is made,
 * each with the allowed keys and, when one is close, a suggestion.
 */
final class Mapping {

  private final ConfigNode node;
  private boolean unknownKeys;

  Mapping(ConfigNode node, List<String> keys) {
    this.node = node;
    for (Map.Entry<String, JsonNode> entry : node.json().properties()) {
      String key = entry.getKey();
      if (!keys.contains(key)) {
        unknownKeys = true;
        String suggestion = DidYouMean.closest(key, keys).map(k -> "; did you mean " + k + "?").orElse("");
        node.tree().report(
            YamlTree.child(node.path(), key),
            "unknown key (expected one of: " + String.join(", ", keys) + suggestion + ")");
      }
    }
  }

  ConfigNode node() {
    return node;
  }

  /** Whether a key outside the allowed set was reported; further errors about the mapping's shape would repeat it. */
  boolean hasUnknownKeys() {
    return unknownKeys;
  }

  boolean has(String key) {
    return node.json().has(key);
  }

  /** The value under {@code key}, if the key is present. */
  Optional<ConfigNode> get(String key) {
    JsonNode value = node.json().get(key);
    return value == null ? Optional.empty() : Optional.of(node.inner(YamlTree.child(node.path(), key), value));
  }

  /** The value under {@code key}; its absence is reported as {@code key: missing (expected: ...)}. */
  Optional<ConfigNode> require(String key, String expectation) {
    Optional<ConfigNode> value = get(key);
    if (value.isEmpty()) {
      node.tree().reportMissing(node.path(), key, expectation);
    }
    return value;
  }
}
