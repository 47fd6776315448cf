package dev.tollgate.node.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Good and bad tokens against issuers with keys in the config (RSA, EC, Ed25519, an HMAC secret), so every
 * outcome is synchronous. Every refusal is checked for its exact description, and for not giving away any
 * part of the token or of its claims.
 */
class JwtVerifierTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final String RSA_ISS = "https://rsa.example/idp";
  private static final String EC_ISS = "https://ec.example/idp";
  private static final String ED_ISS = "https://ed.example/idp";
  private static final String HMAC_ISS = "https://hmac.example/idp";
  private static final String MIXED_ISS = "https://mixed.example/idp";
  private static final String PEM_ISS = "https://pem.example/idp";
  private static final String CONSUMER = "alice-7f3a";
  /** Marks a claim to leave out of {@link #claims}. */
  private static final Object ABSENT = new Object();

  private static RSAKey rsa;
  private static RSAKey otherRsa;
  private static ECKey ec;
  private static OctetKeyPair ed;
  private static byte[] secret;

  private SteppedClock clock;
  private JwtVerifier verifier;

  @BeforeAll
  static void keys() throws JOSEException {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    otherRsa = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    ed = new OctetKeyPairGenerator(Curve.Ed25519).keyID("ed-1").generate();
    secret = new byte[32];
    new SecureRandom().nextBytes(secret);
  }

  @BeforeEach
  void verifier() throws JOSEException {
    clock = new SteppedClock(NOW);
    String rsaPem = "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder().encodeToString(rsa.toRSAPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
    verifier = JwtVerifier.create(List.of(
        JwtIssuer.of(RSA_ISS, new KeySource.StaticKeys(List.of(rsa)), Set.of(SignatureAlgorithm.RS256, SignatureAlgorithm.PS256))
            .withAudiences(Set.of("orders-api", "billing-api"))
            .withGroupsClaim("scope"),
        JwtIssuer.of(EC_ISS, new KeySource.StaticKeys(List.of(ec)), Set.of(SignatureAlgorithm.ES256))
            .withGroupsClaim("groups")
            .withRequiredClaims(List.of("tenant")),
        JwtIssuer.of(ED_ISS, new KeySource.StaticKeys(List.of(ed)), Set.of(SignatureAlgorithm.EdDSA))
            .withConsumerClaim("client_id"),
        JwtIssuer.of(HMAC_ISS, new KeySource.HmacSecret(secret), Set.of(SignatureAlgorithm.HS256)),
        JwtIssuer.of(MIXED_ISS, new KeySource.StaticKeys(List.of(rsa, ec)), Set.of(SignatureAlgorithm.RS256, SignatureAlgorithm.ES256)),
        JwtIssuer.of(PEM_ISS, KeySource.StaticKeys.parsePem(rsaPem), Set.of(SignatureAlgorithm.RS256))),
        clock);
  }

  // --- good tokens ---

  @Test
  void rs256TokenVerifiesWithGroupsFromScope() {
    JwtOutcome outcome = verifiedNow(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS)));

    assertThat(outcome).isInstanceOfSatisfying(JwtOutcome.Verified.class, verified -> {
      assertThat(verified.issuer()).isEqualTo(RSA_ISS);
      assertThat(verified.consumer()).isEqualTo(CONSUMER);
      assertThat(verified.groups()).containsExactly("orders:read", "orders:write");
      assertThat(verified.claims()).containsEntry("sub", CONSUMER).containsEntry("exp", at(300));
    });
  }

  @Test
  void ps256TokenVerifies() {
    assertThat(verifiedNow(Tokens.signed(rsa, JWSAlgorithm.PS256, "rsa-1", claims(RSA_ISS))))
        .isEqualTo(verified(RSA_ISS, List.of("orders:read", "orders:write"), claims(RSA_ISS)));
  }

  @Test
  void es256TokenVerifiesWithGroupsFromArray() {
    Map<String, Object> claims = claims(EC_ISS, "groups", List.of("admins", "ops"), "tenant", "t1", "aud", ABSENT);

    assertThat(verifiedNow(Tokens.signed(ec, JWSAlgorithm.ES256, "ec-1", claims)))
        .isEqualTo(verified(EC_ISS, List.of("admins", "ops"), claims));
  }

  @Test
  void edDsaTokenVerifiesWithTheConfiguredConsumerClaim() {
    Map<String, Object> claims = claims(ED_ISS, "client_id", "svc-billing");

    assertThat(verifiedNow(Tokens.signed(ed, JWSAlgorithm.EdDSA, "ed-1", claims)))
        .isEqualTo(new JwtOutcome.Verified(ED_ISS, "svc-billing", List.of(), claims));
  }

  @Test
  void hs256TokenVerifiesWithTheIssuersSecret() {
    Map<String, Object> claims = claims(HMAC_ISS);

    assertThat(verifiedNow(Tokens.signed(new OctetSequenceKey.Builder(secret).build(), JWSAlgorithm.HS256, "any-kid", claims)))
        .isEqualTo(verified(HMAC_ISS, List.of(), claims));
  }

  @Test
  void aKeyWithoutKidVerifiesTokensNamingAnyKid() {
    assertThat(verifiedNow(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(PEM_ISS))))
        .isInstanceOf(JwtOutcome.Verified.class);
    assertThat(verifiedNow(Tokens.signed(rsa, JWSAlgorithm.RS256, null, claims(PEM_ISS))))
        .isInstanceOf(JwtOutcome.Verified.class);
  }

  @Test
  void audienceMayBeAnArrayHoldingOneAcceptedAudience() {
    assertThat(verifiedNow(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1",
        claims(RSA_ISS, "aud", List.of("someone-else", "billing-api"))))).isInstanceOf(JwtOutcome.Verified.class);
  }

  @Test
  void timesWithinTheClockSkewAreAccepted() {
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1",
        claims(RSA_ISS, "exp", at(-59), "nbf", at(59), "iat", at(59)));

    assertThat(verifiedNow(token)).isInstanceOf(JwtOutcome.Verified.class);
  }

  @Test
  void verifiedClaimsCannotBeChanged() {
    JwtOutcome.Verified verified = (JwtOutcome.Verified) verifiedNow(
        Tokens.signed(ec, JWSAlgorithm.ES256, "ec-1", claims(EC_ISS, "tenant", "t1", "groups", List.of("a"))));

    assertThat(verified.claims()).isUnmodifiable();
    assertThat((List<?>) verified.claims().get("groups")).isUnmodifiable();
  }

  // --- the bad-token corpus ---

  @Test
  void algNoneIsRefusedWhateverItsSpelling() {
    String payload = json(claims(RSA_ISS));

    assertRefused(Tokens.raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, ""), "alg none is not accepted");
    assertRefused(Tokens.raw("{\"alg\":\"NONE\"}", payload, "c2ln"), "alg none is not accepted");
    assertRefused(Tokens.raw("{\"alg\":\"None\",\"kid\":\"rsa-1\"}", payload, ""), "alg none is not accepted");
  }

  @Test
  void hs256SignedWithTheRsaPublicKeyIsRefused() throws JOSEException {
    String payload = json(claims(RSA_ISS));
    byte[] der = rsa.toRSAPublicKey().getEncoded();
    byte[] pem = ("-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(der) + "\n-----END PUBLIC KEY-----\n")
        .getBytes(StandardCharsets.US_ASCII);

    assertRefused(Tokens.hs256("{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}", payload, der), "alg HS256 is not allowed for this issuer");
    assertRefused(Tokens.hs256("{\"alg\":\"HS256\"}", payload, pem), "alg HS256 is not allowed for this issuer");
  }

  @Test
  void anAsymmetricTokenIsRefusedByAnHmacIssuer() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(HMAC_ISS)), "alg RS256 is not allowed for this issuer");
  }

  @Test
  void expiredTokenIsRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "exp", at(-120))), "token expired 120 s ago");
  }

  @Test
  void tokenIsRefusedOnceTheClockPassesExpiryAndSkew() {
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "exp", at(10)));
    assertThat(verifiedNow(token)).isInstanceOf(JwtOutcome.Verified.class);

    clock.step(Duration.ofSeconds(70));

    assertRefused(token, "token expired 60 s ago");
  }

  // --- the memory of verified tokens ---

  @Test
  void aVerifiedTokenIsRememberedAndAFailedOneIsNot() {
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS));
    JwtOutcome first = verifiedNow(token);
    assertThat(first).isInstanceOf(JwtOutcome.Verified.class);
    assertThat(verifiedNow(token)).isEqualTo(first);
    assertThat(verifier.acceptedTokens()).isEqualTo(1);

    assertRefused(Tokens.signed(otherRsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS)), "signature is invalid");
    // A copy of the remembered token with another signature is another string: checked in full.
    String tampered = token.substring(0, token.length() - 8) + (token.endsWith("AAAAAAAA") ? "BBBBBBBB" : "AAAAAAAA");
    assertRefused(tampered, "signature is invalid");
    assertThat(verifier.acceptedTokens()).isEqualTo(1);
  }

  @Test
  void aRememberedTokenPastItsExpiryIsCheckedAgainInFull() {
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "exp", at(10)));
    assertThat(verifiedNow(token)).isInstanceOf(JwtOutcome.Verified.class);

    clock.step(Duration.ofSeconds(30)); // past exp, within the 60 s skew: still good, by a full check
    assertThat(verifiedNow(token)).isInstanceOf(JwtOutcome.Verified.class);

    clock.step(Duration.ofSeconds(40));
    assertRefused(token, "token expired 60 s ago");
  }

  @Test
  void theMemoryOfVerifiedTokensIsBoundedAndCanBeTurnedOff() {
    JwtIssuer issuer = JwtIssuer.of(RSA_ISS, new KeySource.StaticKeys(List.of(rsa)), Set.of(SignatureAlgorithm.RS256));
    JwtVerifier two = JwtVerifier.create(List.of(issuer), clock,
        new JwtVerifier.Limits(8192, Duration.ofSeconds(2), Duration.ofSeconds(5), 1024 * 1024, 2, Duration.ofMinutes(1)));
    JwtVerifier none = JwtVerifier.create(List.of(issuer), clock,
        new JwtVerifier.Limits(8192, Duration.ofSeconds(2), Duration.ofSeconds(5), 1024 * 1024, 0, Duration.ofMinutes(1)));
    for (int i = 0; i < 5; i++) {
      String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "jti", "token-" + i));
      assertThat(two.verify(token).toCompletableFuture().join()).isInstanceOf(JwtOutcome.Verified.class);
      assertThat(none.verify(token).toCompletableFuture().join()).isInstanceOf(JwtOutcome.Verified.class);
    }
    assertThat(two.acceptedTokens()).isLessThanOrEqualTo(2);
    assertThat(none.acceptedTokens()).isZero();
  }

  @Test
  void tokenNotValidYetIsRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "nbf", at(600))),
        "token is not valid yet (nbf is 600 s ahead)");
  }

  @Test
  void tokenIssuedInTheFutureIsRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "iat", at(600))), "iat is 600 s in the future");
  }

  @Test
  void wrongIssuerIsRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims("https://evil.example/idp")), "unknown issuer");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS + "/")), "unknown issuer");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "iss", ABSENT)), "iss is missing");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "iss", List.of(RSA_ISS))), "iss is not a string");
  }

  @Test
  void aTokenOfOneIssuerSignedWithAnothersKeyIsRefused() {
    assertRefused(Tokens.signed(otherRsa, JWSAlgorithm.RS256, null, claims(RSA_ISS)), "signature is invalid");
  }

  @Test
  void wrongAudienceIsRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "aud", "inventory-api")), "aud does not match");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "aud", List.of("a", "b"))), "aud does not match");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "aud", ABSENT)), "aud is missing");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "aud", 7)),
        "aud is not a string or an array of strings");
  }

  @Test
  void tamperedPayloadIsRefused() {
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS));
    String[] parts = token.split("\\.");
    String forged = parts[0] + "." + Tokens.b64(json(claims(RSA_ISS, "sub", "mallory-admin"))) + "." + parts[2];

    assertRefused(forged, "signature is invalid");
  }

  @Test
  void tamperedSignatureIsRefused() {
    String token = Tokens.signed(ec, JWSAlgorithm.ES256, "ec-1", claims(EC_ISS, "tenant", "t1"));
    // A character well before the end: the last one's low bits carry no signature bits.
    int at = token.length() - 10;
    String flipped = token.substring(0, at) + (token.charAt(at) == 'A' ? 'Q' : 'A') + token.substring(at + 1);

    assertRefused(flipped, "signature is invalid");
    assertRefused(token.substring(0, token.length() - 4), "signature is invalid");
  }

  @Test
  void unknownKidIsRefused() {
    assertRefused(Tokens.signed(otherRsa, JWSAlgorithm.RS256, "rsa-2", claims(RSA_ISS)), "no key matches kid");
  }

  @Test
  void aKidNamingAKeyOfAnotherTypeIsRefused() {
    assertRefused(Tokens.signed(ec, JWSAlgorithm.ES256, "rsa-1", claims(MIXED_ISS)), "the key with this kid does not fit alg ES256");
  }

  @Test
  void algorithmNotInTheIssuersListIsRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.PS384, "rsa-1", claims(RSA_ISS)), "alg PS384 is not allowed for this issuer");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS512, "rsa-1", claims(RSA_ISS)), "alg RS512 is not allowed for this issuer");
    assertRefused(Tokens.signed(ec, JWSAlgorithm.ES256, "ec-1", claims(RSA_ISS)), "alg ES256 is not allowed for this issuer");
  }

  @Test
  void hs256SignedWithAnotherSecretIsRefused() {
    byte[] wrong = secret.clone();
    wrong[0] ^= 1;

    assertRefused(Tokens.signed(new OctetSequenceKey.Builder(wrong).build(), JWSAlgorithm.HS256, null, claims(HMAC_ISS)),
        "signature is invalid");
  }

  @Test
  void truncatedTokensAreRefused() {
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS));

    assertRefused(token.substring(0, token.lastIndexOf('.')), "token is not three base64url parts separated by dots");
    assertRefused(token.substring(0, token.indexOf('.') + 20), "token is not three base64url parts separated by dots");
    assertRefused(token.substring(0, token.lastIndexOf('.') + 1), "signature is missing");
  }

  @Test
  void oversizedTokenIsRefusedBeforeParsing() {
    String padding = "x".repeat(100 * 1024);
    String hugeButWellFormed = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "padding", padding));

    assertRefused(hugeButWellFormed, "token is too large (over 8192 bytes)");
    // not even split: a blob with no dots gets the size answer, not the shape one
    assertRefused("a".repeat(100 * 1024), "token is too large (over 8192 bytes)");
  }

  @Test
  void theTokenSizeLimitIsConfigurable() {
    JwtVerifier small = JwtVerifier.create(
        List.of(JwtIssuer.of(RSA_ISS, new KeySource.StaticKeys(List.of(rsa)), Set.of(SignatureAlgorithm.RS256))),
        clock, new JwtVerifier.Limits(512, Duration.ofSeconds(2), Duration.ofSeconds(5), 1024 * 1024));
    String token = Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS));
    assertThat(token.length()).isGreaterThan(512);

    assertThat(small.verify(token).toCompletableFuture().join()).isEqualTo(new JwtOutcome.Invalid("token is too large (over 512 bytes)"));
  }

  @Test
  void missingAndMistypedClaimsAreRefused() {
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "exp", ABSENT)), "exp is missing");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "exp", "tomorrow")), "exp is not a number");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "nbf", true)), "nbf is not a number");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "sub", ABSENT)), "sub is missing");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "sub", "")), "sub is not a non-empty string");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "sub", 42)), "sub is not a non-empty string");
    assertRefused(Tokens.signed(rsa, JWSAlgorithm.RS256, "rsa-1", claims(RSA_ISS, "scope", 5)),
        "scope is not a string or an array of strings");
    assertRefused(Tokens.signed(ec, JWSAlgorithm.ES256, "ec-1", claims(EC_ISS)), "required claim tenant is missing");
    assertRefused(Tokens.signed(ec, JWSAlgorithm.ES256, "ec-1", claims(EC_ISS, "tenant", "t1", "groups", List.of("a", 1))),
        "groups is not a string or an array of strings");
    assertRefused(Tokens.signed(ed, JWSAlgorithm.EdDSA, "ed-1", claims(ED_ISS)), "client_id is missing");
  }

  @Test
  void aCritHeaderIsRefused() {
    JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").criticalParams(Set.of("exp")).customParam("exp", 1).build();

    assertRefused(Tokens.signed(rsa, header, json(claims(RSA_ISS))), "crit header is not supported");
  }

  static Stream<Arguments> malformed() {
    String payload = Tokens.b64(json(claims(RSA_ISS)));
    String header = Tokens.b64("{\"alg\":\"RS256\"}");
    String signature = Tokens.b64(new byte[256]);
    String nested = "[".repeat(2000) + "]".repeat(2000);
    return Stream.of(
        Arguments.of("empty", "", "token is empty"),
        Arguments.of("one part", header, "token is not three base64url parts separated by dots"),
        Arguments.of("four parts", header + "." + payload + "." + signature + ".x", "token is not three base64url parts separated by dots"),
        Arguments.of("JWE", "a.b.c.d.e", "token has 5 parts: encrypted tokens (JWE) are not accepted"),
        Arguments.of("Bearer prefix kept", "Bearer " + header + "." + payload + "." + signature, "header is not base64url"),
        Arguments.of("padding", header + "==." + payload + "." + signature, "header is not base64url"),
        Arguments.of("plain base64", Base64.getEncoder().encodeToString("{\"alg\":\"RS256\"}?>".getBytes(StandardCharsets.UTF_8))
            + "." + payload + "." + signature, "header is not base64url"),
        Arguments.of("impossible length", header + "." + payload + "A." + signature, "payload is not base64url"),
        Arguments.of("space in payload", header + "." + payload.substring(0, 8) + " " + payload.substring(8) + "." + signature,
            "payload is not base64url"),
        Arguments.of("bad signature encoding", header + "." + payload + ".ab/c", "signature is not base64url"),
        Arguments.of("empty header", "." + payload + "." + signature, "header is empty"),
        Arguments.of("empty payload", header + ".." + signature, "payload is empty"),
        Arguments.of("header not JSON", Tokens.b64("alg=RS256") + "." + payload + "." + signature, "header is not a JSON object"),
        Arguments.of("header a JSON string", Tokens.b64("\"RS256\"") + "." + payload + "." + signature, "header is not a JSON object"),
        Arguments.of("header JSON null", Tokens.b64("null") + "." + payload + "." + signature, "header is not a JSON object"),
        Arguments.of("duplicate alg", Tokens.b64("{\"alg\":\"none\",\"alg\":\"RS256\"}") + "." + payload + "." + signature,
            "header is not a JSON object"),
        Arguments.of("payload an array", header + "." + Tokens.b64("[1,2]") + "." + signature, "payload is not a JSON object"),
        Arguments.of("payload nested deep", header + "." + Tokens.b64("{\"a\":" + nested + "}") + "." + signature,
            "payload is not a JSON object"),
        Arguments.of("no alg", Tokens.b64("{\"typ\":\"JWT\"}") + "." + payload + "." + signature, "alg is missing"),
        Arguments.of("alg a number", Tokens.b64("{\"alg\":256}") + "." + payload + "." + signature, "alg is not a string"),
        Arguments.of("alg unknown", Tokens.b64("{\"alg\":\"RS256\\\" evil=\\\"1\"}") + "." + payload + "." + signature,
            "alg is not supported"),
        Arguments.of("alg of JWE", Tokens.b64("{\"alg\":\"RSA-OAEP-256\"}") + "." + payload + "." + signature, "alg is not supported"),
        Arguments.of("alg lower case", Tokens.b64("{\"alg\":\"rs256\"}") + "." + payload + "." + signature, "alg is not supported"),
        Arguments.of("kid a number", Tokens.b64("{\"alg\":\"RS256\",\"kid\":7}") + "." + payload + "." + signature, "kid is not a string"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void malformedTokensAreRefused(String name, String token, String description) {
    assertRefused(token, description);
  }

  // --- helpers ---

  private JwtOutcome verifiedNow(String token) {
    CompletableFuture<JwtOutcome> outcome = verifier.verify(token).toCompletableFuture();
    assertThat(outcome).as("keys from the config: no waiting").isDone();
    return outcome.join();
  }

  private void assertRefused(String token, String description) {
    JwtOutcome outcome = verifiedNow(token);
    assertThat(outcome).isEqualTo(new JwtOutcome.Invalid(description));
    assertGivesNothingAway(token, description);
  }

  /** A description names no part of the token, and none of the claim values these tests use. */
  static void assertGivesNothingAway(String token, String description) {
    Set<String> secrets = new HashSet<>(List.of(CONSUMER, "mallory", "example", "orders", "billing", "inventory", "evil", "tomorrow",
        "svc-", "rsa-", "ec-1", "ed-1", "Bearer", "JWT"));
    for (String part : token.split("\\.")) {
      if (part.length() >= 4) {
        secrets.add(part.length() > 16 ? part.substring(0, 16) : part);
      }
    }
    assertThat(description).doesNotContain(secrets).doesNotContain("\"").doesNotContain("\\");
  }

  private static JwtOutcome.Verified verified(String iss, List<String> groups, Map<String, Object> claims) {
    return new JwtOutcome.Verified(iss, CONSUMER, groups, claims);
  }

  private static long at(long secondsFromNow) {
    return NOW.getEpochSecond() + secondsFromNow;
  }

  /** Claims that pass every check of {@code iss}, changed by name/value pairs; {@link #ABSENT} removes one. */
  static Map<String, Object> claims(String iss, Object... changes) {
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("iss", iss);
    claims.put("sub", CONSUMER);
    claims.put("aud", "orders-api");
    claims.put("exp", at(300));
    claims.put("iat", at(-10));
    claims.put("scope", "orders:read  orders:write");
    for (int i = 0; i < changes.length; i += 2) {
      if (changes[i + 1] == ABSENT) {
        claims.remove((String) changes[i]);
      } else {
        claims.put((String) changes[i], changes[i + 1]);
      }
    }
    return claims;
  }

  static String json(Map<String, Object> claims) {
    return com.nimbusds.jose.util.JSONObjectUtils.toJSONString(claims);
  }
}
