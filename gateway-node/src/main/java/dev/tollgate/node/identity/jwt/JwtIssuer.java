package dev.tollgate.node.identity.jwt;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * An issuer whose tokens the gateway accepts, and how to check them. A token is this issuer's when its
 * {@code iss} claim equals {@code issuer} exactly.
 *
 * <p>Invariants, checked here so that no config can express algorithm confusion: HS* algorithms are
 * allowed only with an {@link KeySource.HmacSecret} (long enough for each), and an HMAC secret allows
 * only HS*; with {@link KeySource.StaticKeys}, every allowed algorithm has a key that fits it. Claim names
 * are printable ASCII without {@code "} or {@code \}, so they can be named in error descriptions.
 *
 * @param issuer the exact {@code iss} value
 * @param audiences the accepted audiences; a token's {@code aud} must contain one of them. Empty: {@code aud}
 *     is not checked
 * @param algorithms the algorithms a token of this issuer may be signed with
 * @param keys where the signature keys come from
 * @param clockSkew how far {@code exp}, {@code nbf} and {@code iat} may be off the gateway's clock
 * @param requiredClaims claims a token must have (any non-null value)
 * @param consumerClaim the claim naming the consumer; must be a non-empty string
 * @param groupsClaim the claim listing the caller's groups: a space-separated string (like {@code scope})
 *     or an array of strings (like {@code groups}); empty: no groups
 */
public record JwtIssuer(
    String issuer,
    Set<String> audiences,
    Set<SignatureAlgorithm> algorithms,
    KeySource keys,
    Duration clockSkew,
    List<String> requiredClaims,
    String consumerClaim,
    Optional<String> groupsClaim) {

  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  public static final String DEFAULT_CONSUMER_CLAIM = "sub";

  public JwtIssuer {
    Objects.requireNonNull(issuer, "issuer");
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(clockSkew, "clockSkew");
    Objects.requireNonNull(consumerClaim, "consumerClaim");
    Objects.requireNonNull(groupsClaim, "groupsClaim");
    audiences = Set.copyOf(Objects.requireNonNull(audiences, "audiences"));
    algorithms = Set.copyOf(Objects.requireNonNull(algorithms, "algorithms"));
    requiredClaims = List.copyOf(Objects.requireNonNull(requiredClaims, "requiredClaims"));
    String where = "issuer " + issuer + ": ";
    if (issuer.isEmpty()) {
      throw new IllegalArgumentException("issuer: must not be empty");
    }
    if (audiences.contains("")) {
      throw new IllegalArgumentException(where + "an audience must not be empty");
    }
    if (algorithms.isEmpty()) {
      throw new IllegalArgumentException(where + "at least one algorithm must be allowed");
    }
    if (clockSkew.isNegative()) {
      throw new IllegalArgumentException(where + "clockSkew " + clockSkew + " must not be negative");
    }
    requireClaimName(where + "consumerClaim", consumerClaim);
    groupsClaim.ifPresent(name -> requireClaimName(where + "groupsClaim", name));
    for (int i = 0; i < requiredClaims.size(); i++) {
      requireClaimName(where + "requiredClaims[" + i + "]", requiredClaims.get(i));
    }
    checkAlgorithmsFitKeys(where, algorithms, keys);
  }

  /** An issuer with no audience check, a 60 s clock skew, no required claims, the consumer in {@code sub} and no groups. */
  public static JwtIssuer of(String issuer, KeySource keys, Set<SignatureAlgorithm> algorithms) {
    return new JwtIssuer(issuer, Set.of(), algorithms, keys, DEFAULT_CLOCK_SKEW, List.of(), DEFAULT_CONSUMER_CLAIM,
        Optional.empty());
  }

  public JwtIssuer withAudiences(Set<String> a) {
    return new JwtIssuer(issuer, a, algorithms, keys, clockSkew, requiredClaims, consumerClaim, groupsClaim);
  }

  public JwtIssuer withClockSkew(Duration s) {
    return new JwtIssuer(issuer, audiences, algorithms, keys, s, requiredClaims, consumerClaim, groupsClaim);
  }

  public JwtIssuer withRequiredClaims(List<String> r) {
    return new JwtIssuer(issuer, audiences, algorithms, keys, clockSkew, r, consumerClaim, groupsClaim);
  }

  public JwtIssuer withConsumerClaim(String c) {
    return new JwtIssuer(issuer, audiences, algorithms, keys, clockSkew, requiredClaims, c, groupsClaim);
  }

  public JwtIssuer withGroupsClaim(String g) {
    return new JwtIssuer(issuer, audiences, algorithms, keys, clockSkew, requiredClaims, consumerClaim, Optional.of(g));
  }

  private static void requireClaimName(String where, String name) {
    Objects.requireNonNull(name, where);
    if (name.isEmpty() || !name.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '"' && c != '\\')) {
      throw new IllegalArgumentException(where + ": claim name " + name
          + " (expected printable ASCII without spaces, quotes or backslashes)");
    }
  }

  private static void checkAlgorithmsFitKeys(String where, Set<SignatureAlgorithm> algorithms, KeySource keys) {
    if (keys instanceof KeySource.HmacSecret hmac) {
      int secretBytes = hmac.secret().length;
      for (SignatureAlgorithm algorithm : EnumSet.copyOf(algorithms)) {
        if (!algorithm.isHmac()) {
          throw new IllegalArgumentException(where + "alg " + algorithm + " needs a public key; an HMAC secret "
              + "allows only HS256, HS384 and HS512");
        }
        if (secretBytes < algorithm.minSecretBytes()) {
          throw new IllegalArgumentException(where + "alg " + algorithm + " needs an HMAC secret of at least "
              + algorithm.minSecretBytes() + " bytes; this one has " + secretBytes);
        }
      }
      return;
    }
    for (SignatureAlgorithm algorithm : EnumSet.copyOf(algorithms)) {
      if (algorithm.isHmac()) {
        throw new IllegalArgumentException(where + "alg " + algorithm + " needs an HMAC secret key source "
            + "(a public key is never used as an HMAC secret)");
      }
      if (keys instanceof KeySource.StaticKeys statics
          && statics.keys().stream().noneMatch(key -> algorithm.fits(key))) {
        throw new IllegalArgumentException(where + "alg " + algorithm + " is allowed but no static key fits it");
      }
    }
  }
}
