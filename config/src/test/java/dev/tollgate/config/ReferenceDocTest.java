package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** docs/config-reference.md names every key of the file format and every node setting with its variable. */
class ReferenceDocTest {

  static final Path DOC = Path.of("../docs/config-reference.md");

  @Test
  void everyKeyOfTheSchemaIsDocumented() throws Exception {
    String doc = Files.readString(DOC);
    Set<String> keys = new TreeSet<>();
    collectKeys(new ObjectMapper().readTree(Path.of("tollgate.schema.json").toFile()), keys);
    assertThat(keys).contains("strip_prefix", "expected_statuses", "present");
    for (String key : keys) {
      assertThat(doc).as("key %s", key).containsPattern("`[^`]*\\b" + key + "\\b[^`]*`");
    }
  }

  @Test
  void everySettingIsDocumentedWithItsEnvironmentVariable() throws Exception {
    String doc = Files.readString(DOC);
    for (Map.Entry<String, String> e : NodeSettingsLoader.environmentVariables().entrySet()) {
      assertThat(doc).as("setting %s", e.getValue()).contains("| `" + e.getValue() + "` | `" + e.getKey() + "` |");
    }
  }

  private static void collectKeys(JsonNode node, Set<String> keys) {
    if (node.isObject()) {
      JsonNode properties = node.get("properties");
      if (properties != null && properties.isObject() && node.has("additionalProperties")) {
        properties.properties().forEach(p -> keys.add(p.getKey()));
      }
      node.properties().forEach(p -> collectKeys(p.getValue(), keys));
    } else if (node.isArray()) {
      node.forEach(n -> collectKeys(n, keys));
    }
  }
}
