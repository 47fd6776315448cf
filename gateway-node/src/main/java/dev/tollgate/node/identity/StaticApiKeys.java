package dev.tollgate.node.identity;

import dev.tollgate.config.ApiKeyDigest;
import dev.tollgate.config.Consumer;
import dev.tollgate.config.GatewayConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * The API keys declared in the config's consumers. A key is hashed with SHA-256 and looked up by
 * its digest, then the digests are compared in constant time ({@link MessageDigest#isEqual}), so
 * neither the lookup nor the comparison tells anything about other keys. Immutable per config
 * version.
 */
public final class StaticApiKeys implements ApiKeyDirectory {

  private final Map<String, Entry> byDigest = new HashMap<>();

  private record Entry(byte[] digest, Caller.Consumer caller) {}

  public StaticApiKeys(GatewayConfig config) {
    for (Consumer consumer : config.consumers()) {
      Caller.Consumer caller = new Caller.Consumer(consumer.id(), consumer.plan(), consumer.groups());
      for (ApiKeyDigest key : consumer.apiKeys()) {
        byDigest.put(key.sha256Hex(), new Entry(key.bytes(), caller));
      }
    }
  }

  @Override
  public Optional<Caller.Consumer> find(String apiKey) {
    byte[] digest = sha256(apiKey.getBytes(StandardCharsets.UTF_8));
    Entry entry = byDigest.get(HexFormat.of().formatHex(digest));
    if (entry == null || !MessageDigest.isEqual(entry.digest(), digest)) {
      return Optional.empty();
    }
    return Optional.of(entry.caller());
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
