package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A known caller.
 *
 * @param plan the plan whose limits apply to every request of this consumer; none means only the
 *     routes' own limits apply
 * @param groups the groups the consumer belongs to, for the routes' {@code auth.allow}
 * @param apiKeys the SHA-256 digests of the consumer's API keys; the keys themselves are not kept
 */
public record Consumer(String id, Optional<String> plan, List<String> groups, List<ApiKeyDigest> apiKeys) {

  public Consumer {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(plan, "plan");
    groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
    apiKeys = List.copyOf(Objects.requireNonNull(apiKeys, "apiKeys"));
  }

  /** A consumer in no group. */
  public Consumer(String id, Optional<String> plan, List<ApiKeyDigest> apiKeys) {
    this(id, plan, List.of(), apiKeys);
  }
}
