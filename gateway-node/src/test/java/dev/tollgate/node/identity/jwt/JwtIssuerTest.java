package dev.tollgate.node.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an issuer's config may say, and how keys are read from JWK JSON and PEM. */
class JwtIssuerTest {

  private static final String ISS = "https://login.example/t1";
  private static final URI JWKS = URI.create("https://login.example/t1/jwks.json");

  private static RSAKey rsa;
  private static ECKey ec;

  @BeforeAll
  static void keys() throws JOSEException {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
  }

  @Test
  void hsAlgorithmsAreRefusedWithPublicKeySources() {
    assertThatThrownBy(() -> JwtIssuer.of(ISS, KeySource.Jwks.of(JWKS), Set.of(SignatureAlgorithm.RS256, SignatureAlgorithm.HS256)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("issuer " + ISS + ": alg HS256 needs an HMAC secret key source (a public key is never used as an HMAC secret)");
    assertThatThrownBy(() -> JwtIssuer.of(ISS, new KeySource.StaticKeys(List.of(rsa)), Set.of(SignatureAlgorithm.HS512)))
        .hasMessage("issuer " + ISS + ": alg HS512 needs an HMAC secret key source (a public key is never used as an HMAC secret)");
  }

  @Test
  void anHmacSecretAllowsOnlyHsAlgorithmsOfItsStrength() {
    KeySource.HmacSecret secret = new KeySource.HmacSecret(new byte[32]);

    assertThatThrownBy(() -> JwtIssuer.of(ISS, secret, Set.of(SignatureAlgorithm.HS256, SignatureAlgorithm.RS256)))
        .hasMessage("issuer " + ISS + ": alg RS256 needs a public key; an HMAC secret allows only HS256, HS384 and HS512");
    assertThatThrownBy(() -> JwtIssuer.of(ISS, secret, Set.of(SignatureAlgorithm.HS512)))
        .hasMessage("issuer " + ISS + ": alg HS512 needs an HMAC secret of at least 64 bytes; this one has 32");
    assertThatThrownBy(() -> new KeySource.HmacSecret(new byte[16]))
        .hasMessage("HMAC secret has 16 bytes; at least 32 are needed");
    assertThat(JwtIssuer.of(ISS, new KeySource.HmacSecret(new byte[64]), Set.of(SignatureAlgorithm.HS256, SignatureAlgorithm.HS512))
        .algorithms()).containsExactlyInAnyOrder(SignatureAlgorithm.HS256, SignatureAlgorithm.HS512);
  }

  @Test
  void everyAllowedAlgorithmNeedsAStaticKeyThatFitsIt() {
    assertThatThrownBy(() -> JwtIssuer.of(ISS, new KeySource.StaticKeys(List.of(rsa)), Set.of(SignatureAlgorithm.RS256, SignatureAlgorithm.ES256)))
        .hasMessage("issuer " + ISS + ": alg ES256 is allowed but no static key fits it");
    assertThatThrownBy(() -> JwtIssuer.of(ISS, new KeySource.StaticKeys(List.of(ec)), Set.of(SignatureAlgorithm.ES384)))
        .hasMessage("issuer " + ISS + ": alg ES384 is allowed but no static key fits it");
  }

  @Test
  void staticKeysTakeOnlyPublicPartsOfUsableKeys() throws JOSEException {
    OctetSequenceKey oct = new OctetSequenceKeyGenerator(256).generate();

    assertThatThrownBy(() -> new KeySource.StaticKeys(List.of(rsa, oct)))
        .hasMessage("static keys[1]: a oct key is not usable (expected RSA, EC on P-256, P-384 or P-521, or OKP on Ed25519)");
    OctetKeyPair x25519 = new OctetKeyPairGenerator(Curve.X25519).generate();
    assertThatThrownBy(() -> new KeySource.StaticKeys(List.of(x25519)))
        .hasMessageStartingWith("static keys[0]: a OKP key is not usable");
    assertThatThrownBy(() -> new KeySource.StaticKeys(List.of())).hasMessage("static keys: at least one key is needed");
    assertThat(new KeySource.StaticKeys(List.of(rsa)).keys()).singleElement().satisfies(key -> assertThat(key.isPrivate()).isFalse());
  }

  @Test
  void staticKeysAreReadFromOneJwkOrAJwkSet() {
    assertThat(KeySource.StaticKeys.parseJwk(rsa.toPublicJWK().toJSONString()).keys())
        .singleElement().satisfies(key -> assertThat(key.getKeyID()).isEqualTo("rsa-1"));
    assertThat(KeySource.StaticKeys.parseJwk(new JWKSet(List.of(rsa, ec)).toPublicJWKSet().toString()).keys())
        .extracting(key -> key.getKeyType()).containsExactly(KeyType.RSA, KeyType.EC);
    assertThatThrownBy(() -> KeySource.StaticKeys.parseJwk("{\"kty\":\"RSA\"}"))
        .hasMessageStartingWith("static keys: not a JWK or JWK Set (");
  }

  @Test
  void staticKeysAreReadFromPemPublicKeys() throws JOSEException {
    String pem = pem("PUBLIC KEY", rsa.toRSAPublicKey().getEncoded()) + "\n" + pem("PUBLIC KEY", ec.toECPublicKey().getEncoded());

    List<com.nimbusds.jose.jwk.JWK> keys = KeySource.StaticKeys.parsePem(pem).keys();

    assertThat(keys).hasSize(2);
    assertThat(keys.get(0).toRSAKey().toRSAPublicKey()).isEqualTo(rsa.toRSAPublicKey());
    assertThat(keys.get(1).toECKey().getCurve()).isEqualTo(Curve.P_256);
    assertThat(keys.get(1).toECKey().toECPublicKey()).isEqualTo(ec.toECPublicKey());
  }

  @Test
  void anEd25519PemKeyVerifiesATokenTheJdkSigned() throws GeneralSecurityException {
    KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    KeySource.StaticKeys keys = KeySource.StaticKeys.parsePem(pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    assertThat(keys.keys()).singleElement().isInstanceOf(OctetKeyPair.class);
    long now = Instant.parse("2026-03-01T12:00:00Z").getEpochSecond();
    String signingInput = Tokens.b64("{\"alg\":\"EdDSA\"}") + "."
        + Tokens.b64("{\"iss\":\"" + ISS + "\",\"sub\":\"svc\",\"exp\":" + (now + 60) + "}");
    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(pair.getPrivate());
    signer.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    String token = signingInput + "." + Tokens.b64(signer.sign());

    JwtVerifier verifier = JwtVerifier.create(List.of(JwtIssuer.of(ISS, keys, Set.of(SignatureAlgorithm.EdDSA))),
        Clock.fixed(Instant.ofEpochSecond(now), ZoneOffset.UTC));

    assertThat(verifier.verify(token).toCompletableFuture().join()).isInstanceOf(JwtOutcome.Verified.class);
    // One character of the signature changed, well before its end (the last character's low bits
    // carry no signature bits, so changing them may decode to the same bytes).
    int at = token.length() - 10;
    String tampered = token.substring(0, at) + (token.charAt(at) == 'A' ? 'B' : 'A') + token.substring(at + 1);
    assertThat(verifier.verify(tampered).toCompletableFuture().join())
        .isEqualTo(new JwtOutcome.Invalid("signature is invalid"));
  }

  @Test
  void staticKeysAreReadFromAPemCertificate(@TempDir Path dir) throws Exception {
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Path store = dir.resolve("issuer.p12");
    run(keytool.toString(), "-genkeypair", "-keyalg", "EC", "-groupname", "secp384r1", "-alias", "issuer", "-dname", "CN=issuer",
        "-validity", "2", "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit");
    String cert = run(keytool.toString(), "-exportcert", "-rfc", "-alias", "issuer", "-keystore", store.toString(),
        "-storetype", "PKCS12", "-storepass", "changeit");

    assertThat(KeySource.StaticKeys.parsePem(cert).keys())
        .singleElement().satisfies(key -> assertThat(key.toECKey().getCurve()).isEqualTo(Curve.P_384));
  }

  @Test
  void pemThatHoldsNoPublicKeyIsRefused() {
    assertThatThrownBy(() -> KeySource.StaticKeys.parsePem("hello"))
        .hasMessage("no PEM block found (expected -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----)");
    assertThatThrownBy(() -> KeySource.StaticKeys.parsePem(pem("PRIVATE KEY", new byte[] {1, 2, 3})))
        .hasMessage("PEM block 1 is a PRIVATE KEY (expected: PUBLIC KEY or CERTIFICATE)");
    assertThatThrownBy(() -> KeySource.StaticKeys.parsePem(pem("PUBLIC KEY", new byte[] {1, 2, 3})))
        .hasMessage("PEM block 1 (PUBLIC KEY): not an RSA, EC or Ed25519 public key");
  }

  @Test
  void jwksSourcesNeedAnHttpUrlAndPositiveDurations() {
    assertThatThrownBy(() -> KeySource.Jwks.of(URI.create("file:///etc/jwks.json")))
        .hasMessage("JWKS url file:///etc/jwks.json is not an absolute http or https URL");
    assertThatThrownBy(() -> new KeySource.Jwks(JWKS, Duration.ZERO, Duration.ofSeconds(1)))
        .hasMessage("JWKS maxAge PT0S must be positive");
    assertThatThrownBy(() -> new KeySource.Jwks(JWKS, Duration.ofMinutes(1), Duration.ofSeconds(-1)))
        .hasMessage("JWKS minRefreshInterval PT-1S must be positive");
    assertThat(KeySource.Jwks.of(JWKS)).isEqualTo(new KeySource.Jwks(JWKS, Duration.ofMinutes(10), Duration.ofSeconds(30)));
  }

  @Test
  void claimNamesMustBeSafeToNameInADescription() {
    JwtIssuer issuer = JwtIssuer.of(ISS, KeySource.Jwks.of(JWKS), Set.of(SignatureAlgorithm.RS256));

    assertThatThrownBy(() -> issuer.withConsumerClaim("user id"))
        .hasMessage("issuer " + ISS + ": consumerClaim: claim name user id (expected printable ASCII without spaces, quotes or backslashes)");
    assertThatThrownBy(() -> issuer.withGroupsClaim("a\"b")).hasMessageStartingWith("issuer " + ISS + ": groupsClaim: claim name");
    assertThatThrownBy(() -> issuer.withRequiredClaims(List.of("tenant", ""))).hasMessageStartingWith("issuer " + ISS + ": requiredClaims[1]");
    assertThatThrownBy(() -> issuer.withClockSkew(Duration.ofSeconds(-1))).hasMessage("issuer " + ISS + ": clockSkew PT-1S must not be negative");
    assertThatThrownBy(() -> JwtIssuer.of(ISS, KeySource.Jwks.of(JWKS), Set.of())).hasMessage("issuer " + ISS + ": at least one algorithm must be allowed");
    assertThat(issuer.clockSkew()).isEqualTo(Duration.ofSeconds(60));
    assertThat(issuer.consumerClaim()).isEqualTo("sub");
  }

  @Test
  void anHmacSecretIsNeverPrintedAndIsCopied() {
    byte[] bytes = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    KeySource.HmacSecret secret = new KeySource.HmacSecret(bytes);
    bytes[0] = 'X';

    assertThat(secret.toString()).isEqualTo("HmacSecret[32 bytes]");
    assertThat(JwtIssuer.of(ISS, secret, Set.of(SignatureAlgorithm.HS256)).toString()).doesNotContain("0123456789");
    assertThat(secret.secret()[0]).isEqualTo((byte) '0');
    assertThat(secret).isEqualTo(new KeySource.HmacSecret("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void anIssuerMayBeConfiguredOnlyOnce() {
    JwtIssuer issuer = JwtIssuer.of(ISS, new KeySource.StaticKeys(List.of(rsa)), Set.of(SignatureAlgorithm.RS256));

    assertThatThrownBy(() -> JwtVerifier.create(List.of(issuer, issuer.withClockSkew(Duration.ZERO)), Clock.systemUTC()))
        .hasMessage("issuer " + ISS + " is configured twice");
  }

  @Test
  void noneIsNotAnAlgorithmThatCanBeAllowed() {
    assertThat(SignatureAlgorithm.named("none")).isEmpty();
    assertThat(SignatureAlgorithm.named("rs256")).isEmpty();
    assertThat(SignatureAlgorithm.named("EdDSA")).contains(SignatureAlgorithm.EdDSA);
    assertThat(SignatureAlgorithm.values()).extracting(Enum::name)
        .containsExactly("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512");
    for (SignatureAlgorithm algorithm : SignatureAlgorithm.values()) {
      assertThat(algorithm.header().getAlgorithm()).isEqualTo(JWSAlgorithm.parse(algorithm.name()));
    }
  }

  @Test
  void aDescriptionFitsInAQuotedHeaderValue() {
    assertThatThrownBy(() -> new JwtOutcome.Invalid("bad \"quote\"")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new JwtOutcome.Invalid("back\\slash")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new JwtOutcome.Invalid("line\nbreak")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new JwtOutcome.Invalid("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new JwtOutcome.Invalid("x".repeat(201))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void limitsArePositive() {
    assertThatThrownBy(() -> new JwtVerifier.Limits(0, Duration.ofSeconds(1), Duration.ofSeconds(1), 1))
        .hasMessage("maxTokenBytes 0 must be positive");
    assertThatThrownBy(() -> new JwtVerifier.Limits(1, Duration.ZERO, Duration.ofSeconds(1), 1))
        .hasMessage("jwksConnectTimeout PT0S must be positive");
    assertThat(JwtVerifier.Limits.DEFAULT)
        .isEqualTo(new JwtVerifier.Limits(8192, Duration.ofSeconds(2), Duration.ofSeconds(5), 1 << 20));
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    return output;
  }
}
