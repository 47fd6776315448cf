package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JSON Schema {@code tollgate.schema.json} and {@link ConfigLoader} accept the same examples, and
 * the schema rejects every fixture whose errors are structural.
 *
 * <p>Each fixture's first line says what the schema makes of it: {@code # schema: invalid} (a
 * structural error the schema catches too), {@code # schema: valid (beyond the schema: ...)} (a
 * semantic error only the loader finds: unique names and ids, references to upstreams and plans,
 * regular expressions that must compile, replacement groups, duplicate target urls, reversed status
 * ranges, two limits of one list with the same period, an API key given twice, duplicate YAML keys,
 * a second YAML document), or {@code # schema: unparseable} (not YAML at all).
 */
class SchemaAgreementTest {

  private static final YAMLMapper YAML = new YAMLMapper();
  /** The top-level keys whose entries are blamed one by one. */
  private static final Set<String> LISTS = Set.of("upstreams", "routes", "plans", "consumers");
  private static Schema schema;

  @BeforeAll
  static void loadSchemaFromTheClasspath() throws IOException {
    try (InputStream in = ConfigLoader.class.getClassLoader().getResourceAsStream("tollgate.schema.json")) {
      assertThat(in).as("tollgate.schema.json is packaged as a classpath resource").isNotNull();
      schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(in);
    }
  }

  static Stream<Path> examples() throws IOException {
    try (Stream<Path> files = Files.list(ConfigLoaderTest.EXAMPLES)) {
      return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList().stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void everyExampleIsValidForBoth(Path example) throws Exception {
    ConfigLoader.load(example);
    assertThat(schema.validate(YAML.readTree(example.toFile()))).isEmpty();
  }

  @Test
  void thereAreExamples() throws IOException {
    assertThat(examples().map(p -> p.getFileName().toString())).contains("minimal.yaml", "full.yaml");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.tollgate.config.InvalidConfigTest#fixtures")
  void theSchemaAgreesWithEachFixturesMarker(String name) throws IOException {
    Path file = InvalidConfigTest.FIXTURES.resolve(name + ".yaml");
    String text = Files.readString(file);
    String marker = text.lines().findFirst().orElse("");
    if (marker.equals("# schema: unparseable")) {
      assertThatThrownBy(() -> YAML.readTree(text)).isInstanceOf(IOException.class);
    } else if (marker.equals("# schema: invalid")) {
      List<Error> errors = schema.validate(YAML.readTree(text));
      assertThat(errors).as("schema errors of %s", name).isNotEmpty();
      // Both blame the same entries (upstreams[i], routes[i], plans[i], consumers[i], or a top-level key).
      Set<String> blamedBySchema = errors.stream().map(SchemaAgreementTest::entryOf).collect(Collectors.toSet());
      Set<String> blamedByLoader = loaderErrors(text, name).stream().map(SchemaAgreementTest::entryOf).collect(Collectors.toSet());
      assertThat(blamedBySchema).as("entries the schema blames in %s", name).isEqualTo(blamedByLoader);
    } else if (marker.startsWith("# schema: valid (beyond the schema: ") && marker.endsWith(")")) {
      List<Error> errors = schema.validate(YAML.readTree(text));
      assertThat(errors).as("%s is documented as beyond the schema", name).isEmpty();
    } else {
      throw new AssertionError(name + ".yaml must start with # schema: invalid | valid (beyond the schema: why) | unparseable");
    }
  }

  private static List<ConfigError> loaderErrors(String text, String name) {
    try {
      ConfigLoader.parse(text, name + ".yaml");
      throw new AssertionError(name + ".yaml was accepted");
    } catch (ConfigException e) {
      return e.errors();
    }
  }

  /** {@code routes[2].match.paths[0]} -> {@code routes/2}; {@code plugins} -> {@code plugins}; the root -> {@code ""}. */
  private static String entryOf(ConfigError error) {
    String path = error.path().equals(YamlTree.ROOT_NAME) ? "" : error.path();
    return entryOf(List.of(path.replaceAll("\\[([0-9]+)\\]", ".$1").split("\\.")));
  }

  private static String entryOf(Error error) {
    String pointer = error.getInstanceLocation().toString();
    if ("additionalProperties".equals(error.getKeyword()) && error.getProperty() != null) {
      pointer = pointer + "/" + error.getProperty();
    }
    return entryOf(List.of(pointer.replaceFirst("^/", "").split("/")));
  }

  private static String entryOf(List<String> segments) {
    boolean listEntry = segments.size() > 1 && LISTS.contains(segments.get(0)) && segments.get(1).matches("[0-9]+");
    return listEntry ? segments.get(0) + "/" + segments.get(1) : segments.get(0);
  }

  @Test
  void everyPropertyOfTheSchemaHasADescription() throws IOException {
    JsonNode root;
    try (InputStream in = ConfigLoader.class.getClassLoader().getResourceAsStream("tollgate.schema.json")) {
      root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
    }
    assertDescribed(root, "");
  }

  private static void assertDescribed(JsonNode node, String where) {
    if (node.isObject()) {
      JsonNode properties = node.get("properties");
      if (properties != null && properties.isObject() && node.has("additionalProperties")) {
        assertThat(node.get("additionalProperties").asBoolean(true)).as("additionalProperties at %s", where).isFalse();
        for (Map.Entry<String, JsonNode> p : properties.properties()) {
          assertThat(p.getValue().has("description")).as("description of %s/%s", where, p.getKey()).isTrue();
        }
      }
      node.properties().forEach(e -> assertDescribed(e.getValue(), where + "/" + e.getKey()));
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        assertDescribed(node.get(i), where + "/" + i);
      }
    }
  }
}
