package dev.tollgate.config;

import java.util.Objects;

/**
 * A condition on a request header (name case-insensitive) or query parameter (name exact): equal to
 * a value, matching a regex (whole value), present, or absent.
 */
public record FieldMatch(String name, Kind kind, String value) {

  public enum Kind { EXACT, REGEX, PRESENT, ABSENT }

  public FieldMatch {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(kind, "kind");
    if (kind == Kind.PRESENT || kind == Kind.ABSENT) {
      value = "";
    } else {
      Objects.requireNonNull(value, "value");
    }
  }

  public static FieldMatch exact(String name, String value) {
    return new FieldMatch(name, Kind.EXACT, value);
  }

  public static FieldMatch regex(String name, String regex) {
    return new FieldMatch(name, Kind.REGEX, regex);
  }

  public static FieldMatch present(String name) {
    return new FieldMatch(name, Kind.PRESENT, "");
  }

  public static FieldMatch absent(String name) {
    return new FieldMatch(name, Kind.ABSENT, "");
  }
}
