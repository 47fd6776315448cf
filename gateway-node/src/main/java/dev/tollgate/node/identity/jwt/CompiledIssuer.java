package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.JOSEException;
import dev.tollgate.node.identity.jwt.KeyRing.Selection;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

/**
 * One {@link JwtIssuer} made ready to verify its tokens: keys turned into verifiers once (or, for a JWKS,
 * a cache of them), claims checked against the injected clock. Thread-safe.
 */
final class CompiledIssuer {

  private static final Pattern WHITESPACE = Pattern.compile("\\s+");

  private final JwtIssuer config;
  private final Clock clock;
  private final Optional<KeyRing> fixedKeys;
  private final Optional<JwksKeys> jwks;

  CompiledIssuer(JwtIssuer config, Clock clock, HttpClient http, JwtVerifier.Limits limits) {
    this.config = Objects.requireNonNull(config, "config");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (config.keys() instanceof KeySource.Jwks source) {
      this.fixedKeys = Optional.empty();
      this.jwks = Optional.of(new JwksKeys(source, Objects.requireNonNull(http, "http"), clock, limits));
    } else {
      this.fixedKeys = Optional.of(fixedKeys(config.keys()));
      this.jwks = Optional.empty();
    }
  }

  private static KeyRing fixedKeys(KeySource source) {
    if (source instanceof KeySource.HmacSecret hmac) {
      return new KeyRing(List.of(VerificationKey.hmac(hmac.secret())), Instant.MAX);
    }
    List<VerificationKey> keys = new ArrayList<>();
    for (var key : ((KeySource.StaticKeys) source).keys()) {
      // StaticKeys admits only keys that make a verifier
      keys.add(VerificationKey.of(key).orElseThrow());
    }
    return new KeyRing(keys, Instant.MAX);
  }

  /**
   * The keys this issuer verifies with now: the same object for as long as they do not change, a new
   * one after every JWKS fetch; null before the first. Like a verification, this starts a background
   * refresh when the cached JWKS is past its freshness.
   */
  Object keysNow() {
    return fixedKeys.isPresent() ? fixedKeys.get() : jwks.get().cached().orElse(null);
  }

  /**
   * Verifies a token already read and attributed to this issuer. Completes at once unless the issuer's
   * JWKS must be fetched because the token's key is not cached.
   */
  CompletionStage<JwtOutcome> verify(CompactJws token) {
    if (!config.algorithms().contains(token.algorithm())) {
      return done(new JwtOutcome.Invalid("alg " + token.algorithm().name() + " is not allowed for this issuer"));
    }
    if (fixedKeys.isPresent()) {
      return done(check(token, fixedKeys.get().select(token.kid(), token.algorithm())));
    }
    JwksKeys remote = jwks.get();
    Optional<KeyRing> cached = remote.cached();
    if (cached.isPresent()) {
      Selection selection = cached.get().select(token.kid(), token.algorithm());
      if (!(selection instanceof Selection.Missing missing) || !missing.refreshable()) {
        return done(check(token, selection));
      }
    }
    return remote.refreshAfterMiss().thenApply(ring -> ring
        .map(keys -> check(token, keys.select(token.kid(), token.algorithm())))
        .orElseGet(() -> new JwtOutcome.Invalid("signing keys are unavailable")));
  }

  private JwtOutcome check(CompactJws token, Selection selection) {
    if (selection instanceof Selection.Missing missing) {
      return new JwtOutcome.Invalid(missing.description());
    }
    if (!signatureVerifies(token, ((Selection.Found) selection).keys())) {
      return new JwtOutcome.Invalid("signature is invalid");
    }
    try {
      return checkClaims(token.claims());
    } catch (TokenRejected rejected) {
      return rejected.outcome();
    }
  }

  private static boolean signatureVerifies(CompactJws token, List<VerificationKey> keys) {
    for (VerificationKey key : keys) {
      try {
        if (key.verifier().verify(token.algorithm().header(), token.signingInput(), token.signature())) {
          return true;
        }
      } catch (JOSEException | RuntimeException notWithThisKey) {
        // a signature of the wrong length or form for the key: not valid with it, and never a pass
      }
    }
    return false;
  }

  private JwtOutcome.Verified checkClaims(Map<String, Object> claims) throws TokenRejected {
    // Seconds as double: NumericDate may have a fraction (RFC 7519 2), and no real date loses precision
    double now = clock.millis() / 1000.0;
    double skew = config.clockSkew().toMillis() / 1000.0;
    Object expClaim = claims.get("exp");
    if (expClaim == null) {
      throw new TokenRejected("exp is missing");
    }
    double exp = numericDate(expClaim, "exp");
    if (now >= exp + skew) {
      throw new TokenRejected("token expired " + (long) Math.floor(now - exp) + " s ago");
    }
    Object nbfClaim = claims.get("nbf");
    if (nbfClaim != null) {
      double nbf = numericDate(nbfClaim, "nbf");
      if (now < nbf - skew) {
        throw new TokenRejected("token is not valid yet (nbf is " + (long) Math.ceil(nbf - now) + " s ahead)");
      }
    }
    Object iatClaim = claims.get("iat");
    if (iatClaim != null) {
      double iat = numericDate(iatClaim, "iat");
      if (iat > now + skew) {
        throw new TokenRejected("iat is " + (long) Math.ceil(iat - now) + " s in the future");
      }
    }
    if (!config.audiences().isEmpty()) {
      checkAudience(claims.get("aud"));
    }
    for (String required : config.requiredClaims()) {
      if (claims.get(required) == null) {
        throw new TokenRejected("required claim " + required + " is missing");
      }
    }
    String consumerClaim = config.consumerClaim();
    Object consumer = claims.get(consumerClaim);
    if (consumer == null) {
      throw new TokenRejected(consumerClaim + " is missing");
    }
    if (!(consumer instanceof String id) || id.isEmpty()) {
      throw new TokenRejected(consumerClaim + " is not a non-empty string");
    }
    List<String> groups = config.groupsClaim().isPresent()
        ? groups(config.groupsClaim().get(), claims.get(config.groupsClaim().get()))
        : List.of();
    @SuppressWarnings("unchecked")
    Map<String, Object> readOnly = (Map<String, Object>) readOnly(claims);
    return new JwtOutcome.Verified(config.issuer(), id, groups, readOnly);
  }

  private static double numericDate(Object value, String name) throws TokenRejected {
    if (value instanceof Number number && Double.isFinite(number.doubleValue())) {
      return number.doubleValue();
    }
    throw new TokenRejected(name + " is not a number");
  }

  private void checkAudience(Object aud) throws TokenRejected {
    if (aud == null) {
      throw new TokenRejected("aud is missing");
    }
    if (aud instanceof String single) {
      if (config.audiences().contains(single)) {
        return;
      }
    } else if (aud instanceof List<?> many) {
      boolean matched = false;
      for (Object one : many) {
        if (!(one instanceof String name)) {
          throw new TokenRejected("aud is not a string or an array of strings");
        }
        matched |= config.audiences().contains(name);
      }
      if (matched) {
        return;
      }
    } else {
      throw new TokenRejected("aud is not a string or an array of strings");
    }
    throw new TokenRejected("aud does not match");
  }

  private static List<String> groups(String claim, Object value) throws TokenRejected {
    if (value == null) {
      return List.of();
    }
    if (value instanceof String spaced) {
      return WHITESPACE.splitAsStream(spaced.strip()).filter(group -> !group.isEmpty()).toList();
    }
    if (value instanceof List<?> many) {
      List<String> groups = new ArrayList<>(many.size());
      for (Object one : many) {
        if (!(one instanceof String group)) {
          throw new TokenRejected(claim + " is not a string or an array of strings");
        }
        groups.add(group);
      }
      return groups;
    }
    throw new TokenRejected(claim + " is not a string or an array of strings");
  }

  private static Object readOnly(Object json) {
    if (json instanceof Map<?, ?> map) {
      Map<Object, Object> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(k, readOnly(v)));
      return Collections.unmodifiableMap(copy);
    }
    if (json instanceof List<?> list) {
      List<Object> copy = new ArrayList<>(list.size());
      list.forEach(v -> copy.add(readOnly(v)));
      return Collections.unmodifiableList(copy);
    }
    return json;
  }

  private static CompletionStage<JwtOutcome> done(JwtOutcome outcome) {
    return CompletableFuture.completedFuture(outcome);
  }
}
