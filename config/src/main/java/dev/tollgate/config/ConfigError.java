package dev.tollgate.config;

import java.util.Objects;

/**
 * One problem found in a configuration file or in node settings.
 *
 * @param path where it is, such as {@code routes[0].upstream}, {@code tollgate.proxy.port}, or
 *     {@code file.yaml:3:7} for a syntax error
 * @param message what is there and what was expected, such as
 *     {@code "ech" (expected: one of the upstream names: echo)}
 */
public record ConfigError(String path, String message) {

  public ConfigError {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return path + ": " + message;
  }
}
