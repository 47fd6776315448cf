package dev.tollgate.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads one entry of {@code consumers} into a {@link Consumer}, reporting every problem it finds.
 * An API key is kept only as its SHA-256 digest, and nothing written under {@code api_keys} is ever
 * shown in an error: a key pasted in the wrong place must not end up in a log either.
 */
final class ConsumerReader {

  static final List<String> KEYS = List.of("id", "plan", "groups", "api_keys");
  static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}");
  static final String ID_EXPECTED =
      "an id of 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit";
  /** Printable ASCII without spaces, as a header value carries it unquoted. */
  static final Pattern KEY = Pattern.compile("[!-~]{16,}");
  static final String KEY_EXPECTED = "a key of at least 16 characters, printable ASCII without spaces";

  private static final String API_KEYS = "a list of API keys, each a mapping with key or sha256";
  private static final String API_KEY = "an API key, a mapping with one of key or sha256";
  private static final String SHA256_EXPECTED =
      "the SHA-256 digest of a key as 64 hex digits, as printed by printf %s 'KEY' | sha256sum";
  private static final Pattern SHA256 = Pattern.compile("[0-9A-Fa-f]{64}");

  private final List<String> planNames;
  /** Where each consumer id was first used, to report duplicates. */
  private final Map<String, String> idsSeen = new LinkedHashMap<>();
  /** Where each API key was first given, across all consumers, to report a key given twice. */
  private final Map<ApiKeyDigest, String> digestsSeen = new HashMap<>();

  /** @param planNames the names of the file's plans, in file order, for checking references */
  ConsumerReader(List<String> planNames) {
    this.planNames = List.copyOf(planNames);
  }

  Optional<Consumer> read(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("a consumer, a mapping with at least id", KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    String id = m.require("id", ID_EXPECTED).flatMap(this::uniqueId).orElse(null);
    Optional<String> plan = m.get("plan").flatMap(p -> PlanReader.reference(p, planNames));
    List<String> groups = m.get("groups")
        .map(g -> AuthReader.names(g, AuthReader.GROUP, AuthReader.GROUP_EXPECTED, "a list of group names"))
        .orElse(List.of());
    List<ApiKeyDigest> apiKeys = m.get("api_keys").map(k -> apiKeys(k.hidden())).orElse(List.of());
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new Consumer(id, plan, groups, apiKeys));
  }

  private Optional<String> uniqueId(ConfigNode node) {
    return node.matching(ID, ID_EXPECTED).filter(id -> {
      String first = idsSeen.putIfAbsent(id, YamlTree.display(node.path()));
      if (first != null) {
        node.invalid("an id no other consumer has; " + first + " has it");
        return false;
      }
      return true;
    });
  }

  // Skips entries it reported; read() then discards the consumer.
  private List<ApiKeyDigest> apiKeys(ConfigNode node) {
    List<ApiKeyDigest> digests = new ArrayList<>();
    for (ConfigNode element : node.list(API_KEYS).orElse(List.of())) {
      apiKey(element).ifPresent(digests::add);
    }
    return digests;
  }

  private Optional<ApiKeyDigest> apiKey(ConfigNode node) {
    List<String> kinds = List.of("key", "sha256");
    Optional<Mapping> found = node.mapping(API_KEY, kinds);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    List<String> given = kinds.stream().filter(m::has).toList();
    if (given.isEmpty()) {
      if (!m.hasUnknownKeys()) {
        node.invalid("one of key (the key itself) or sha256 (its digest)");
      }
      return Optional.empty();
    }
    if (given.size() > 1) {
      m.get("sha256").get().invalid("only one of key or sha256 per API key; key is given");
      return Optional.empty();
    }
    ConfigNode value = m.get(given.get(0)).get();
    Optional<ApiKeyDigest> digest = given.get(0).equals("key")
        ? value.matching(KEY, KEY_EXPECTED).map(ApiKeyDigest::of)
        : value.matching(SHA256, SHA256_EXPECTED).map(hex -> new ApiKeyDigest(hex.toLowerCase(Locale.ROOT)));
    return digest.filter(d -> {
      String first = digestsSeen.putIfAbsent(d, YamlTree.display(value.path()));
      if (first != null) {
        value.invalid("a key no other API key has; " + first + " has the same SHA-256 digest");
        return false;
      }
      return true;
    });
  }
}
