package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The README names every key of the file format and every node setting with its variable. */
class ReferenceDocTest {

  static final Path DOC = Path.of("../README.md");

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
    Config reference = ConfigFactory.parseResources("reference.conf").getConfig("tollgate");
    assertThat(reference.entrySet()).hasSizeGreaterThanOrEqualTo(12);
    Set<String> variables = new TreeSet<>();
    for (Map.Entry<String, ConfigValue> e : reference.entrySet()) {
      String path = "tollgate." + e.getKey();
      // the documented mapping: the path after "tollgate.", upper case, '.' and '-' as '_'
      String variable = "TOLLGATE_" + e.getKey().toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
      assertThat(doc).as("setting %s", path).contains("| `" + path + "` | `" + variable + "` |");
      assertThat(variables.add(variable)).as("%s is the variable of one setting only", variable).isTrue();
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
