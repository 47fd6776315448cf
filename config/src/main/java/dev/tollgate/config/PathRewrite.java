package dev.tollgate.config;

import java.util.Objects;

/**
 * Rewrites the forwarded path: the first match of {@code regex} is replaced by {@code replacement},
 * which may refer to groups as {@code $1} or {@code ${name}}.
 */
public record PathRewrite(String regex, String replacement) {

  public PathRewrite {
    Objects.requireNonNull(regex, "regex");
    Objects.requireNonNull(replacement, "replacement");
  }
}
