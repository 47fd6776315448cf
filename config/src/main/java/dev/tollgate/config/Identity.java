package dev.tollgate.config;

import java.util.Objects;
import java.util.Optional;

/**
 * How callers identify themselves, and what applies to those who do not.
 *
 * @param apiKeyHeader the request header that carries an API key
 * @param anonymousPlan the plan applied to callers without a key, counted per client IP; none
 *     means anonymous callers meet only the routes' own limits
 */
public record Identity(String apiKeyHeader, Optional<String> anonymousPlan) {

  public static final Identity DEFAULT = new Identity("X-Api-Key", Optional.empty());

  public Identity {
    Objects.requireNonNull(apiKeyHeader, "apiKeyHeader");
    Objects.requireNonNull(anonymousPlan, "anonymousPlan");
  }
}
