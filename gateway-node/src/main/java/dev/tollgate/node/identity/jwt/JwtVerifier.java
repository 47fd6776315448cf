package dev.tollgate.node.identity.jwt;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Verifies bearer JWTs (JWS compact serialization) against a fixed set of issuers. Build one per config
 * version and share it: it is thread-safe, and it holds the JWKS caches of its issuers.
 *
 * <p>A token is read without trusting it, attributed to the issuer its {@code iss} names, and then checked:
 * the algorithm against the issuer's list, the signature against the issuer's keys only, then {@code exp},
 * {@code nbf}, {@code iat}, {@code aud}, the required claims and the consumer claim. {@code none} is never
 * accepted, and an HS* token is only ever checked with an issuer's HMAC secret.
 *
 * <p>The returned stage is already complete, without any fetch or blocking, unless the token's key must
 * first be fetched from its issuer's JWKS; it never completes exceptionally.
 *
 * <p>Tokens that verified are remembered, so that a client sending the same token again costs a lookup
 * instead of a signature check (an RS256 check costs about 40 µs, an ES256 one about 0.9 ms on JDK 17).
 * A remembered token is accepted only before its {@code exp} (without the clock skew: in its skew a token
 * is checked again in full), for at most {@link Limits#acceptedTtl}, and only while its issuer's keys are
 * the ones it was checked with: after a JWKS refresh every token of that issuer is checked again, so a key
 * removed from the JWKS stops working as soon as the gateway has fetched the new set. Only the exact token
 * string is remembered: a token differing in any character is checked in full. Tokens that failed are
 * never remembered.
 */
public final class JwtVerifier {

  /**
   * Bounds on what one token and one JWKS response may cost.
   *
   * @param maxTokenBytes longer tokens are refused before they are parsed
   * @param jwksConnectTimeout how long to wait to connect to a JWKS endpoint
   * @param jwksRequestTimeout how long a JWKS fetch may take in all
   * @param maxJwksBytes larger JWKS responses are not read
   * @param acceptedTokens how many verified tokens are remembered at most (least recently used leave
   *     first); 0 remembers none
   * @param acceptedTtl how long a verified token is remembered at most
   */
  public record Limits(int maxTokenBytes, Duration jwksConnectTimeout, Duration jwksRequestTimeout, int maxJwksBytes,
      int acceptedTokens, Duration acceptedTtl) {

    public static final int DEFAULT_ACCEPTED_TOKENS = 10_000;
    public static final Duration DEFAULT_ACCEPTED_TTL = Duration.ofMinutes(1);
    public static final Limits DEFAULT = new Limits(8 * 1024, Duration.ofSeconds(2), Duration.ofSeconds(5), 1024 * 1024);

    /** Limits with the default memory of verified tokens. */
    public Limits(int maxTokenBytes, Duration jwksConnectTimeout, Duration jwksRequestTimeout, int maxJwksBytes) {
      this(maxTokenBytes, jwksConnectTimeout, jwksRequestTimeout, maxJwksBytes, DEFAULT_ACCEPTED_TOKENS,
          DEFAULT_ACCEPTED_TTL);
    }

    public Limits {
      Objects.requireNonNull(jwksConnectTimeout, "jwksConnectTimeout");
      Objects.requireNonNull(jwksRequestTimeout, "jwksRequestTimeout");
      Objects.requireNonNull(acceptedTtl, "acceptedTtl");
      if (acceptedTokens < 0) {
        throw new IllegalArgumentException("acceptedTokens " + acceptedTokens + " must not be negative");
      }
      if (acceptedTtl.isNegative() || acceptedTtl.isZero()) {
        throw new IllegalArgumentException("acceptedTtl " + acceptedTtl + " must be positive");
      }
      if (maxTokenBytes < 1) {
        throw new IllegalArgumentException("maxTokenBytes " + maxTokenBytes + " must be positive");
      }
      if (maxJwksBytes < 1) {
        throw new IllegalArgumentException("maxJwksBytes " + maxJwksBytes + " must be positive");
      }
      if (jwksConnectTimeout.isNegative() || jwksConnectTimeout.isZero()) {
        throw new IllegalArgumentException("jwksConnectTimeout " + jwksConnectTimeout + " must be positive");
      }
      if (jwksRequestTimeout.isNegative() || jwksRequestTimeout.isZero()) {
        throw new IllegalArgumentException("jwksRequestTimeout " + jwksRequestTimeout + " must be positive");
      }
    }
  }

  /**
   * A token that verified: until when (epoch millis) it may be accepted without a check, by which
   * issuer, and with which of its {@link CompiledIssuer#keysNow keys}.
   */
  private record Accepted(JwtOutcome.Verified outcome, long untilMillis, CompiledIssuer issuer, Object keys) {}

  private final Map<String, CompiledIssuer> issuers;
  private final int maxTokenBytes;
  private final Clock clock;
  private final Cache<String, Accepted> accepted;

  private JwtVerifier(Map<String, CompiledIssuer> issuers, int maxTokenBytes, Clock clock, Limits limits) {
    this.issuers = issuers;
    this.maxTokenBytes = maxTokenBytes;
    this.clock = clock;
    this.accepted = limits.acceptedTokens() == 0 ? null : Caffeine.newBuilder()
        .maximumSize(limits.acceptedTokens())
        .expireAfterWrite(limits.acceptedTtl())
        // Evictions run on the caller's thread: no pool thread per config version.
        .executor(Runnable::run)
        .build();
  }

  /** A verifier for these issuers with the {@link Limits#DEFAULT default limits}. */
  public static JwtVerifier create(List<JwtIssuer> issuers, Clock clock) {
    return create(issuers, clock, Limits.DEFAULT);
  }

  /**
   * A verifier for these issuers; each {@code iss} may appear once. Times are read from {@code clock}, for
   * token claims and JWKS freshness alike.
   */
  public static JwtVerifier create(List<JwtIssuer> issuers, Clock clock, Limits limits) {
    Objects.requireNonNull(issuers, "issuers");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(limits, "limits");
    HttpClient http = issuers.stream().anyMatch(issuer -> issuer.keys() instanceof KeySource.Jwks)
        ? HttpClient.newBuilder()
            .connectTimeout(limits.jwksConnectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build()
        : null;
    Map<String, CompiledIssuer> byIss = new HashMap<>();
    for (JwtIssuer issuer : issuers) {
      Objects.requireNonNull(issuer, "issuers[]");
      if (byIss.put(issuer.issuer(), new CompiledIssuer(issuer, clock, http, limits)) != null) {
        throw new IllegalArgumentException("issuer " + issuer.issuer() + " is configured twice");
      }
    }
    return new JwtVerifier(Map.copyOf(byIss), limits.maxTokenBytes(), clock, limits);
  }

  /** Verifies one bearer token (without the {@code Bearer } prefix). */
  public CompletionStage<JwtOutcome> verify(String token) {
    Objects.requireNonNull(token, "token");
    if (accepted != null && token.length() <= maxTokenBytes) {
      Accepted hit = accepted.getIfPresent(token);
      if (hit != null) {
        if (clock.millis() < hit.untilMillis() && hit.issuer().keysNow() == hit.keys()) {
          return CompletableFuture.completedFuture(hit.outcome());
        }
        accepted.invalidate(token);
      }
    }
    CompiledIssuer issuer;
    CompactJws jws;
    try {
      jws = CompactJws.read(token, maxTokenBytes);
      issuer = issuers.get(issuerOf(jws));
      if (issuer == null) {
        throw new TokenRejected("unknown issuer");
      }
    } catch (TokenRejected rejected) {
      return CompletableFuture.completedFuture(rejected.outcome());
    }
    if (accepted == null) {
      return issuer.verify(jws);
    }
    // Read before the check: keys that change meanwhile leave the entry stale, never wrongly fresh.
    Object keys = issuer.keysNow();
    CompiledIssuer by = issuer;
    return issuer.verify(jws).thenApply(o -> {
      if (keys != null && o instanceof JwtOutcome.Verified verified && verified.claims().get("exp") instanceof Number exp) {
        accepted.put(token, new Accepted(verified, (long) Math.floor(exp.doubleValue() * 1000), by, keys));
      }
      return o;
    });
  }

  /** How many verified tokens are remembered now. */
  long acceptedTokens() {
    if (accepted == null) {
      return 0;
    }
    accepted.cleanUp();
    return accepted.estimatedSize();
  }

  private static String issuerOf(CompactJws jws) throws TokenRejected {
    Object iss = jws.claims().get("iss");
    if (iss == null) {
      throw new TokenRejected("iss is missing");
    }
    if (!(iss instanceof String name)) {
      throw new TokenRejected("iss is not a string");
    }
    return name;
  }
}
