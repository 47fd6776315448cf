package dev.tollgate.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An issuer of JWTs the gateway accepts on routes whose {@code auth.accept} lists {@code jwt}, as
 * the file declares it; the node turns it into a verifier.
 *
 * @param issuer the exact {@code iss} of its tokens
 * @param audiences a token's {@code aud} must hold one of these; empty: not checked
 * @param algorithms the algorithms its tokens may be signed with (never {@code none})
 * @param keys where the keys come from: exactly one kind
 * @param clockSkew how far {@code exp}, {@code nbf} and {@code iat} may be off
 * @param consumerClaim the claim naming the consumer
 * @param groupsClaim the claim listing the caller's groups, if any
 * @param plan the plan whose limits apply to the consumers of its tokens, if any
 */
public record JwtIssuerSpec(
    String issuer,
    List<String> audiences,
    List<String> algorithms,
    Keys keys,
    Duration clockSkew,
    List<String> requiredClaims,
    String consumerClaim,
    Optional<String> groupsClaim,
    Optional<String> plan) {

  /** Where an issuer's keys come from. */
  public sealed interface Keys {}

  /** A JWKS endpoint, cached for at most {@code maxAge} and refetched at most once per {@code refreshInterval} on an unknown key id. */
  public record Jwks(URI url, Duration maxAge, Duration refreshInterval) implements Keys {}

  /** Keys written in the file: a JWK or a JWK set as JSON. */
  public record Jwk(String json) implements Keys {}

  /** Keys written in the file: PEM public keys or certificates. */
  public record Pem(String text) implements Keys {}

  /** A shared secret for HS256/384/512; never shown. */
  public record HmacSecret(String secret) implements Keys {
    @Override
    public String toString() {
      return "HmacSecret[(hidden)]";
    }
  }

  public JwtIssuerSpec {
    Objects.requireNonNull(issuer, "issuer");
    audiences = List.copyOf(audiences);
    algorithms = List.copyOf(algorithms);
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(clockSkew, "clockSkew");
    requiredClaims = List.copyOf(requiredClaims);
    Objects.requireNonNull(consumerClaim, "consumerClaim");
    Objects.requireNonNull(groupsClaim, "groupsClaim");
    Objects.requireNonNull(plan, "plan");
  }
}
