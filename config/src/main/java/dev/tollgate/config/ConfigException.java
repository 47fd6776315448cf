package dev.tollgate.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A configuration file or node settings were rejected. Carries every error found, in document
 * order, not only the first; {@link #getMessage()} lists them one a line.
 */
public final class ConfigException extends Exception {

  private final List<ConfigError> errors;

  public ConfigException(List<ConfigError> errors) {
    super(errors.stream().map(ConfigError::toString).collect(Collectors.joining("\n")));
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("a ConfigException needs at least one error");
    }
    this.errors = List.copyOf(errors);
  }

  public ConfigException(ConfigError error) {
    this(List.of(error));
  }

  /** Every error, in document order. Never empty. */
  public List<ConfigError> errors() {
    return errors;
  }
}
