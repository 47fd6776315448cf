package dev.tollgate.node.identity;

import dev.tollgate.config.ApiKeyDigest;
import dev.tollgate.config.Consumer;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.node.route.RequestView;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * API keys declared in the config, sent in one header. A key is hashed with SHA-256 and looked up by
 * its digest, then the digests are compared in constant time ({@link MessageDigest#isEqual}), so
 * neither the lookup nor the comparison tells anything about other keys. No header: anonymous. A
 * key that matches no consumer: rejected, without saying which keys exist.
 */
public final class StaticApiKeys implements CallerIdentifier {

  private final String header;
  private final String headerLower;
  private final Map<String, Entry> byDigest = new HashMap<>();

  private record Entry(byte[] digest, Caller.Consumer caller) {}

  public StaticApiKeys(GatewayConfig config) {
    this.header = config.identity().apiKeyHeader();
    this.headerLower = header.toLowerCase(Locale.ROOT);
    for (Consumer consumer : config.consumers()) {
      Caller.Consumer caller = new Caller.Consumer(consumer.id(), consumer.plan());
      for (ApiKeyDigest key : consumer.apiKeys()) {
        byDigest.put(key.sha256Hex(), new Entry(key.bytes(), caller));
      }
    }
  }

  @Override
  public Caller identify(RequestView request) {
    String key = request.header(header);
    if (key == null) {
      return Caller.ANONYMOUS;
    }
    byte[] digest = sha256(key.getBytes(StandardCharsets.UTF_8));
    Entry entry = byDigest.get(HexFormat.of().formatHex(digest));
    if (entry == null || !MessageDigest.isEqual(entry.digest(), digest)) {
      return new Caller.Rejected("ApiKey header=\"" + header + "\"", "The API key in " + header + " is not valid.");
    }
    return entry.caller();
  }

  @Override
  public boolean isCredentialHeader(String lowerCaseName) {
    return lowerCaseName.equals(headerLower);
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
