package dev.tollgate.config;

import java.util.Objects;

/**
 * One path condition. A prefix matches at a segment boundary: {@code /echo} matches {@code /echo},
 * {@code /echo/} and {@code /echo/a}, not {@code /echoes}. A regex must match the whole path.
 */
public record PathMatch(Kind kind, String value) {

  public enum Kind { EXACT, PREFIX, REGEX }

  public PathMatch {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(value, "value");
    if (kind != Kind.REGEX && !value.startsWith("/")) {
      throw new IllegalArgumentException("a path must start with /: " + value);
    }
  }

  public static PathMatch exact(String path) {
    return new PathMatch(Kind.EXACT, path);
  }

  public static PathMatch prefix(String path) {
    return new PathMatch(Kind.PREFIX, path);
  }

  public static PathMatch regex(String regex) {
    return new PathMatch(Kind.REGEX, regex);
  }
}
