package dev.tollgate.node.identity.jwt;

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
 */
public final class JwtVerifier {

  /**
   * Bounds on what one token and one JWKS response may cost.
   *
   * @param maxTokenBytes longer tokens are refused before they are parsed
   * @param jwksConnectTimeout how long to wait to connect to a JWKS endpoint
   * @param jwksRequestTimeout how long a JWKS fetch may take in all
   * @param maxJwksBytes larger JWKS responses are not read
   */
  public record Limits(int maxTokenBytes, Duration jwksConnectTimeout, Duration jwksRequestTimeout, int maxJwksBytes) {

    public static final Limits DEFAULT = new Limits(8 * 1024, Duration.ofSeconds(2), Duration.ofSeconds(5), 1024 * 1024);

    public Limits {
      Objects.requireNonNull(jwksConnectTimeout, "jwksConnectTimeout");
      Objects.requireNonNull(jwksRequestTimeout, "jwksRequestTimeout");
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

  private final Map<String, CompiledIssuer> issuers;
  private final int maxTokenBytes;

  private JwtVerifier(Map<String, CompiledIssuer> issuers, int maxTokenBytes) {
    this.issuers = issuers;
    this.maxTokenBytes = maxTokenBytes;
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
    return new JwtVerifier(Map.copyOf(byIss), limits.maxTokenBytes());
  }

  /** Verifies one bearer token (without the {@code Bearer } prefix). */
  public CompletionStage<JwtOutcome> verify(String token) {
    Objects.requireNonNull(token, "token");
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
    return issuer.verify(jws);
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
