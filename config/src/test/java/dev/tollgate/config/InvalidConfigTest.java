package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
