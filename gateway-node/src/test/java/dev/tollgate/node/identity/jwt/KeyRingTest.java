package dev.tollgate.node.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyOperation;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Which keys of a set a token may be checked against: the guard against algorithm confusion at the key level. */
class KeyRingTest {

  private static RSAKey rsa;

  @BeforeAll
  static void keys() throws JOSEException {
    rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
  }

  @Test
  void aSecretKeyInAJwksIsNeverUsable() throws JOSEException {
    assertThat(VerificationKey.of(new OctetSequenceKeyGenerator(256).keyID("oct-1").generate())).isEmpty();
    assertThat(VerificationKey.of(new OctetKeyPairGenerator(Curve.X25519).keyID("x-1").generate())).isEmpty();
  }

  @Test
  void anRsaKeyNeverFitsAnHsAlgorithm() {
    KeyRing ring = ring(rsa);

    for (SignatureAlgorithm hs : List.of(SignatureAlgorithm.HS256, SignatureAlgorithm.HS384, SignatureAlgorithm.HS512)) {
      assertThat(ring.select(Optional.of("rsa-1"), hs))
          .isEqualTo(new KeyRing.Selection.Missing("the key with this kid does not fit alg " + hs, false));
      assertThat(ring.select(Optional.empty(), hs)).isEqualTo(new KeyRing.Selection.Missing("no key fits alg " + hs, true));
    }
  }

  @Test
  void theHmacSecretFitsOnlyHsAlgorithms() {
    KeyRing ring = new KeyRing(List.of(VerificationKey.hmac(new byte[32])), Instant.MAX);

    assertThat(ring.select(Optional.of("whatever"), SignatureAlgorithm.HS256)).isInstanceOf(KeyRing.Selection.Found.class);
    assertThat(ring.select(Optional.empty(), SignatureAlgorithm.RS256))
        .isEqualTo(new KeyRing.Selection.Missing("no key fits alg RS256", true));
  }

  @Test
  void aKeyPinnedToAnAlgorithmOrToEncryptionDoesNotFitOthers() throws JOSEException {
    JWK pinned = new RSAKey.Builder(rsa.toRSAPublicKey()).keyID("pinned").algorithm(JWSAlgorithm.RS256).build();
    JWK forEncryption = new RSAKey.Builder(rsa.toRSAPublicKey()).keyID("enc").keyUse(KeyUse.ENCRYPTION).build();
    JWK signOnly = new RSAKey.Builder(rsa.toRSAPublicKey()).keyID("sign").keyOperations(Set.of(KeyOperation.SIGN)).build();
    KeyRing ring = ring(pinned, forEncryption, signOnly);

    assertThat(ring.select(Optional.of("pinned"), SignatureAlgorithm.RS256)).isInstanceOf(KeyRing.Selection.Found.class);
    assertThat(ring.select(Optional.of("pinned"), SignatureAlgorithm.PS256))
        .isEqualTo(new KeyRing.Selection.Missing("the key with this kid does not fit alg PS256", false));
    assertThat(ring.select(Optional.of("enc"), SignatureAlgorithm.RS256))
        .isEqualTo(new KeyRing.Selection.Missing("the key with this kid does not fit alg RS256", false));
    assertThat(ring.select(Optional.of("sign"), SignatureAlgorithm.RS256))
        .isEqualTo(new KeyRing.Selection.Missing("the key with this kid does not fit alg RS256", false));
  }

  @Test
  void ecKeysFitOnlyTheAlgorithmOfTheirCurve() throws JOSEException {
    KeyRing ring = ring(new ECKeyGenerator(Curve.P_384).keyID("p384").generate());

    assertThat(ring.select(Optional.of("p384"), SignatureAlgorithm.ES384)).isInstanceOf(KeyRing.Selection.Found.class);
    assertThat(ring.select(Optional.of("p384"), SignatureAlgorithm.ES256))
        .isEqualTo(new KeyRing.Selection.Missing("the key with this kid does not fit alg ES256", false));
  }

  @Test
  void keysNamedByTheKidComeAloneAndUnknownKidsMayBeRefreshed() throws JOSEException {
    RSAKey other = new RSAKeyGenerator(2048).keyID("rsa-2").generate();
    KeyRing ring = ring(rsa, other);

    assertThat(ring.select(Optional.of("rsa-2"), SignatureAlgorithm.RS256))
        .isInstanceOfSatisfying(KeyRing.Selection.Found.class,
            found -> assertThat(found.keys()).extracting(VerificationKey::kid).containsExactly(Optional.of("rsa-2")));
    assertThat(ring.select(Optional.empty(), SignatureAlgorithm.RS256))
        .isInstanceOfSatisfying(KeyRing.Selection.Found.class, found -> assertThat(found.keys()).hasSize(2));
    assertThat(ring.select(Optional.of("rsa-3"), SignatureAlgorithm.RS256))
        .isEqualTo(new KeyRing.Selection.Missing("no key matches kid", true));
  }

  private static KeyRing ring(JWK... keys) {
    return new KeyRing(List.of(keys).stream().map(key -> VerificationKey.of(key).orElseThrow()).toList(), Instant.MAX);
  }
}
