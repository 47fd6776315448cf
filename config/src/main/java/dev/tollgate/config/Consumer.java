package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A known caller.
 *
 * @param plan the plan whose limits apply to every request of this consumer; none means only the
 *     routes' own limits apply
 * @param apiKeys the SHA-256 digests of the consumer's API keys; the keys themselves are not kept
 */
public record Consumer(String id, Optional<String> plan, List<ApiKeyDigest> apiKeys) {

  public Consumer {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(plan, "plan");
    apiKeys = List.copyOf(Objects.requireNonNull(apiKeys, "apiKeys"));
  }
}
