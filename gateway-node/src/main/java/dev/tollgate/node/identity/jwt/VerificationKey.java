package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import java.util.Objects;
import java.util.Optional;

/**
 * One key an issuer signs with, and the verifier for it, built once when the key is loaded. Verifiers
 * are stateless, so one serves every thread.
 */
record VerificationKey(Optional<String> kid, JWK key, JWSVerifier verifier) {

  VerificationKey {
    Objects.requireNonNull(kid, "kid");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(verifier, "verifier");
  }

  /** The key as a verifier, or empty if it is private, of an unusable type or curve, or malformed. */
  static Optional<VerificationKey> of(JWK key) {
    if (key instanceof OctetSequenceKey) {
      // a secret key has no public part: a JWKS must not be able to turn an asymmetric issuer into an HMAC one
      return Optional.empty();
    }
    if (key.isPrivate()) {
      key = key.toPublicJWK();
    }
    try {
      JWSVerifier verifier;
      if (key instanceof RSAKey rsa) {
        verifier = new RSASSAVerifier(rsa);
      } else if (key instanceof ECKey ec && (Curve.P_256.equals(ec.getCurve()) || Curve.P_384.equals(ec.getCurve())
          || Curve.P_521.equals(ec.getCurve()))) {
        verifier = new ECDSAVerifier(ec);
      } else if (key instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve())) {
        verifier = new Ed25519Verifier(okp);
      } else {
        return Optional.empty();
      }
      return Optional.of(new VerificationKey(Optional.ofNullable(key.getKeyID()), key, verifier));
    } catch (JOSEException | RuntimeException malformed) {
      return Optional.empty();
    }
  }

  /** The issuer's HMAC secret as a key; the only kind of key HS* tokens are checked against. */
  static VerificationKey hmac(byte[] secret) {
    try {
      return new VerificationKey(Optional.empty(), new OctetSequenceKey.Builder(secret).build(), new MACVerifier(secret));
    } catch (JOSEException e) {
      throw new IllegalArgumentException("HMAC secret is not usable", e);
    }
  }

  boolean fits(SignatureAlgorithm algorithm) {
    return key instanceof OctetSequenceKey ? algorithm.isHmac() : algorithm.fits(key);
  }
}
