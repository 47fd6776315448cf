package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every fixture {@code src/test/resources/invalid/NAME.yaml} and compares the complete list of
 * errors with {@code NAME.expected}, one error a line.
 */
class InvalidConfigTest {

  static final Path FIXTURES = Path.of("src/test/resources/invalid");

  static Stream<String> fixtures() throws IOException {
    try (Stream<Path> files = Files.list(FIXTURES)) {
      return files.map(f -> f.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .map(n -> n.substring(0, n.length() - ".yaml".length()))
          .sorted()
          .toList()
          .stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void reportsExactlyTheExpectedErrors(String name) throws IOException {
    String yaml = Files.readString(FIXTURES.resolve(name + ".yaml"));
    List<String> expected = Files.readAllLines(FIXTURES.resolve(name + ".expected")).stream()
        .filter(line -> !line.isBlank())
        .toList();

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(yaml, name + ".yaml"));

    assertThat(e).as("%s.yaml must be rejected", name).isNotNull();
    assertThat(e.errors()).map(ConfigError::toString).containsExactlyElementsOf(expected);
    assertThat(e.getMessage()).isEqualTo(String.join("\n", expected));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void noErrorShowsAnApiKeyOfItsFixture(String name) throws IOException {
    String yaml = Files.readString(FIXTURES.resolve(name + ".yaml"));
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(yaml, name + ".yaml"));

    for (String key : apiKeysWritten(yaml)) {
      // a shortened value shows the beginning of the key: look for that too
      String start = key.substring(0, Math.min(key.length(), 10));
      assertThat(e.errors()).map(ConfigError::toString).as("errors of %s", name)
          .allSatisfy(error -> assertThat(error).doesNotContain(key).doesNotContain(start));
    }
  }

  @Test
  void severalFixturesWriteApiKeysForTheCheckAbove() throws IOException {
    long withKeys = fixtures().filter(name -> {
      try {
        return !apiKeysWritten(Files.readString(FIXTURES.resolve(name + ".yaml"))).isEmpty();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }).count();
    assertThat(withKeys).isGreaterThanOrEqualTo(5);
  }

  /** Plain-text keys: values of key, and scalars written under api_keys in place of a mapping with key or sha256. */
  static Set<String> apiKeysWritten(String yaml) {
    JsonNode root;
    try {
      root = new YAMLMapper().readTree(yaml);
    } catch (IOException e) {
      return Set.of(); // not YAML: the syntax error is all that is reported
    }
    Set<String> keys = new TreeSet<>();
    collectApiKeys(root, keys);
    return keys;
  }

  private static void collectApiKeys(JsonNode node, Set<String> keys) {
    if (node == null) {
      return;
    }
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      JsonNode value = field.getValue();
      if (field.getKey().equals("key") && value.isValueNode()) {
        keys.add(value.asText());
      } else if (field.getKey().equals("api_keys") && value.isValueNode()) {
        keys.add(value.asText());
      } else if (field.getKey().equals("api_keys") && value.isArray()) {
        value.forEach(element -> {
          if (element.isValueNode()) {
            keys.add(element.asText());
          }
        });
      }
    }
    node.elements().forEachRemaining(child -> collectApiKeys(child, keys));
  }

  @Test
  void thereAreEnoughFixturesAndEachHasItsExpectedErrors() throws IOException {
    List<String> names = fixtures().toList();
    assertThat(names).hasSizeGreaterThanOrEqualTo(25);
    for (String name : names) {
      assertThat(FIXTURES.resolve(name + ".expected")).as(name).exists();
    }
    try (Stream<Path> files = Files.list(FIXTURES)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .as("every .expected belongs to a .yaml")
          .filteredOn(n -> n.endsWith(".expected"))
          .allSatisfy(n -> assertThat(FIXTURES.resolve(n.replace(".expected", ".yaml"))).exists());
    }
  }

  @Test
  void loadNamesTheFileInSyntaxErrorsAndWhenItIsMissing() {
    Path missing = FIXTURES.resolve("no-such-file.yaml");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(missing));
    assertThat(e.errors()).containsExactly(new ConfigError(missing.toString(), "no such file"));

    Path broken = FIXTURES.resolve("yaml-syntax-error.yaml");
    e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(broken));
    assertThat(e.errors()).singleElement().extracting(ConfigError::path).isEqualTo(broken + ":5:1");
  }
}
