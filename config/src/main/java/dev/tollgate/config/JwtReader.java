package dev.tollgate.config;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads the top-level {@code jwt} into issuers, reporting every problem it finds. What the file
 * says about keys is checked for shape here (and fully when a node builds its verifier); an HMAC
 * secret is never shown in an error.
 */
final class JwtReader {

  static final List<String> ISSUER_KEYS = List.of("issuer", "audiences", "algorithms", "jwks_url", "jwks_max_age",
      "jwks_refresh_interval", "jwk", "pem", "hmac_secret", "clock_skew", "required_claims", "consumer_claim",
      "groups_claim", "plan");
  private static final List<String> KEY_KINDS = List.of("jwks_url", "jwk", "pem", "hmac_secret");
  static final List<String> ALGORITHMS = List.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
      "ES512", "EdDSA", "HS256", "HS384", "HS512");
  private static final Map<String, Integer> HMAC_BYTES = Map.of("HS256", 32, "HS384", 48, "HS512", 64);
  private static final Pattern CLAIM = Pattern.compile("[!#-\\[\\]-~]{1,64}");
  private static final String CLAIM_EXPECTED = "a claim name of 1 to 64 printable characters, without spaces, \" or \\";
  private static final Duration MAX_SKEW = Duration.ofMinutes(10);

  private final List<String> planNames;
  private final Map<String, String> issuersSeen = new HashMap<>();

  JwtReader(List<String> planNames) {
    this.planNames = List.copyOf(planNames);
  }

  List<JwtIssuerSpec> read(ConfigNode node) {
    List<JwtIssuerSpec> issuers = new ArrayList<>();
    node.mapping("a mapping with issuers", List.of("issuers"))
        .flatMap(m -> m.get("issuers"))
        .flatMap(i -> i.list("a list of JWT issuers"))
        .ifPresent(list -> list.forEach(i -> issuer(i).ifPresent(issuers::add)));
    return issuers;
  }

  private Optional<JwtIssuerSpec> issuer(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping("a JWT issuer, a mapping with at least issuer, algorithms and one of"
        + " jwks_url, jwk, pem or hmac_secret", ISSUER_KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    String issuer = m.require("issuer", "the exact iss of the issuer's tokens, such as https://idp.example.com/")
        .flatMap(this::uniqueIssuer).orElse(null);
    List<String> audiences = m.get("audiences")
        .map(a -> strings(a, "a list of audiences, each a non-empty string")).orElse(List.of());
    List<String> algorithms = m.require("algorithms", "a non-empty list of algorithms: " + String.join(", ", ALGORITHMS))
        .map(JwtReader::algorithms).orElse(List.of());
    List<String> kinds = KEY_KINDS.stream().filter(m::has).toList();
    JwtIssuerSpec.Keys keys = null;
    if (kinds.size() != 1) {
      if (!m.hasUnknownKeys()) {
        node.invalid(kinds.isEmpty()
            ? "one of jwks_url, jwk, pem or hmac_secret, where the issuer's keys come from"
            : "only one of jwks_url, jwk, pem or hmac_secret; " + String.join(" and ", kinds) + " are given");
      }
    } else {
      keys = keys(m, kinds.get(0), algorithms);
    }
    if (!kinds.contains("jwks_url")) {
      for (String jwksOnly : List.of("jwks_max_age", "jwks_refresh_interval")) {
        m.get(jwksOnly).ifPresent(n -> n.invalid("no " + jwksOnly + " without jwks_url"));
      }
    }
    Duration skew = m.get("clock_skew").flatMap(ConfigNode::duration).filter(d -> {
      if (d.compareTo(MAX_SKEW) > 0) {
        m.get("clock_skew").get().invalid("a clock skew of at most 10m");
        return false;
      }
      return true;
    }).orElse(Duration.ofSeconds(60));
    List<String> required = m.get("required_claims")
        .map(r -> AuthReader.names(r, CLAIM, CLAIM_EXPECTED, "a list of claim names")).orElse(List.of());
    String consumerClaim = m.get("consumer_claim").flatMap(c -> c.matching(CLAIM, CLAIM_EXPECTED)).orElse("sub");
    Optional<String> groupsClaim = m.get("groups_claim").flatMap(c -> c.matching(CLAIM, CLAIM_EXPECTED));
    Optional<String> plan = m.get("plan").flatMap(p -> PlanReader.reference(p, planNames));
    if (node.tree().errorCount() > errorsBefore || keys == null) {
      return Optional.empty();
    }
    return Optional.of(new JwtIssuerSpec(issuer, audiences, algorithms, keys, skew, required, consumerClaim, groupsClaim,
        plan));
  }

  private Optional<String> uniqueIssuer(ConfigNode node) {
    return node.string("the exact iss of the issuer's tokens, such as https://idp.example.com/").filter(iss -> {
      if (iss.isEmpty()) {
        node.invalid("a non-empty iss");
        return false;
      }
      String first = issuersSeen.putIfAbsent(iss, YamlTree.display(node.path()));
      if (first != null) {
        node.invalid("an issuer no other entry has; " + first + " has it");
        return false;
      }
      return true;
    });
  }

  private static List<String> algorithms(ConfigNode node) {
    String expected = "one of " + String.join(", ", ALGORITHMS);
    List<String> names = new ArrayList<>();
    Optional<List<ConfigNode>> entries = node.list("a non-empty list of algorithms: " + String.join(", ", ALGORITHMS));
    if (entries.isPresent() && entries.get().isEmpty()) {
      node.invalid("a non-empty list of algorithms: " + String.join(", ", ALGORITHMS));
    }
    for (ConfigNode entry : entries.orElse(List.of())) {
      entry.string(expected).ifPresent(name -> {
        if (name.equalsIgnoreCase("none")) {
          entry.invalid(expected + "; unsigned tokens are never accepted");
        } else if (!ALGORITHMS.contains(name)) {
          entry.invalid(expected);
        } else if (names.contains(name)) {
          entry.invalid("each algorithm once; " + name + " is listed before");
        } else {
          names.add(name);
        }
      });
    }
    return names;
  }

  private static JwtIssuerSpec.Keys keys(Mapping m, String kind, List<String> algorithms) {
    ConfigNode node = m.get(kind).get();
    boolean hmac = kind.equals("hmac_secret");
    // Algorithm confusion: an HMAC secret verifies only HS*, and HS* is verified only with an HMAC secret.
    List<String> misfits = algorithms.stream().filter(a -> a.startsWith("HS") != hmac).toList();
    if (!misfits.isEmpty()) {
      m.get("algorithms").get().invalid(hmac
          ? "only HS256, HS384 or HS512 with hmac_secret; " + String.join(", ", misfits) + " need public keys"
          : "no HS256, HS384 or HS512 with " + kind + " (they need hmac_secret); " + String.join(", ", misfits)
              + " is given");
      return null;
    }
    switch (kind) {
      case "jwks_url" -> {
        Optional<URI> url = node.string("an http or https URL of a JWKS").flatMap(text -> {
          try {
            URI uri = URI.create(text);
            if (("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())) && uri.getHost() != null) {
              return Optional.of(uri);
            }
          } catch (IllegalArgumentException e) {
            // reported below
          }
          node.invalid("an http or https URL of a JWKS, such as https://idp.example.com/.well-known/jwks.json");
          return Optional.empty();
        });
        Duration maxAge = m.get("jwks_max_age").flatMap(ConfigNode::duration).orElse(Duration.ofMinutes(10));
        Duration interval = m.get("jwks_refresh_interval").flatMap(ConfigNode::duration).orElse(Duration.ofSeconds(30));
        return url.map(u -> (JwtIssuerSpec.Keys) new JwtIssuerSpec.Jwks(u, maxAge, interval)).orElse(null);
      }
      case "jwk" -> {
        return node.string("a JWK or a JWK set, as JSON").filter(json -> {
          if (json.contains("\"kty\"") || json.contains("\"keys\"")) {
            return true;
          }
          node.invalid("a JWK or a JWK set, as JSON with kty or keys");
          return false;
        }).map(json -> (JwtIssuerSpec.Keys) new JwtIssuerSpec.Jwk(json)).orElse(null);
      }
      case "pem" -> {
        return node.string("PEM public keys or certificates").filter(pem -> {
          if (pem.contains("-----BEGIN PUBLIC KEY-----") || pem.contains("-----BEGIN CERTIFICATE-----")) {
            return true;
          }
          node.invalid("PEM text with -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE----- blocks");
          return false;
        }).map(pem -> (JwtIssuerSpec.Keys) new JwtIssuerSpec.Pem(pem)).orElse(null);
      }
      default -> {
        ConfigNode secretNode = node.hidden();
        int longest = algorithms.stream().mapToInt(a -> HMAC_BYTES.getOrDefault(a, 0)).max().orElse(32);
        return secretNode.string("a secret of at least " + longest + " bytes").filter(secret -> {
          if (secret.getBytes(StandardCharsets.UTF_8).length >= longest) {
            return true;
          }
          secretNode.invalid("a secret of at least " + longest + " bytes for " + String.join(", ", algorithms));
          return false;
        }).map(secret -> (JwtIssuerSpec.Keys) new JwtIssuerSpec.HmacSecret(secret)).orElse(null);
      }
    }
  }

  private static List<String> strings(ConfigNode node, String expected) {
    List<String> out = new ArrayList<>();
    for (ConfigNode entry : node.list(expected).orElse(List.of())) {
      entry.string("a non-empty string").ifPresent(s -> {
        if (s.isEmpty()) {
          entry.invalid("a non-empty string");
        } else {
          out.add(s);
        }
      });
    }
    return out;
  }
}
