package dev.tollgate.node.identity;

import java.util.Optional;

/**
 * Finds the consumer an API key belongs to. Lookups go by the key's SHA-256 digest, so they tell
 * nothing about other keys, and no implementation keeps keys in plain text. Thread-safe; called on
 * the request path, so a lookup must not block.
 */
public interface ApiKeyDirectory {

  /** The consumer holding {@code apiKey}, or empty if no consumer does. */
  Optional<Caller.Consumer> find(String apiKey);

  /** No keys at all. */
  ApiKeyDirectory NONE = apiKey -> Optional.empty();

  /** This directory's consumer for a key, else {@code next}'s. */
  default ApiKeyDirectory orElse(ApiKeyDirectory next) {
    return next == NONE ? this : apiKey -> {
      Optional<Caller.Consumer> found = find(apiKey);
      return found.isPresent() ? found : next.find(apiKey);
    };
  }
}
