package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyOperation;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The JWS algorithms an issuer may allow, named as in a token's {@code alg} header (RFC 7518, RFC 8037).
 * {@code none} is not one of them, so it can never be allowed. Each algorithm fits one kind of key:
 * RS* and PS* an RSA key, ES256/384/512 an EC key on P-256/P-384/P-521, EdDSA an Ed25519 key, and HS* only
 * an issuer's HMAC secret, never a public key.
 */
public enum SignatureAlgorithm {
  RS256(JWSAlgorithm.RS256, 0),
  RS384(JWSAlgorithm.RS384, 0),
  RS512(JWSAlgorithm.RS512, 0),
  PS256(JWSAlgorithm.PS256, 0),
  PS384(JWSAlgorithm.PS384, 0),
  PS512(JWSAlgorithm.PS512, 0),
  ES256(JWSAlgorithm.ES256, 0),
  ES384(JWSAlgorithm.ES384, 0),
  ES512(JWSAlgorithm.ES512, 0),
  EdDSA(JWSAlgorithm.EdDSA, 0),
  HS256(JWSAlgorithm.HS256, 32),
  HS384(JWSAlgorithm.HS384, 48),
  HS512(JWSAlgorithm.HS512, 64);

  private static final Map<String, SignatureAlgorithm> BY_NAME =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(SignatureAlgorithm::name, Function.identity()));

  private final JWSAlgorithm jws;
  private final int minSecretBytes;
  // Verifiers read only alg (and crit, which tokens may not carry), so one header per algorithm serves every token.
  private final JWSHeader header;

  SignatureAlgorithm(JWSAlgorithm jws, int minSecretBytes) {
    this.jws = jws;
    this.minSecretBytes = minSecretBytes;
    this.header = new JWSHeader(jws);
  }

  /** The algorithm with exactly this name (names are case-sensitive, as in JWS), if it is one of ours. */
  public static Optional<SignatureAlgorithm> named(String name) {
    return Optional.ofNullable(BY_NAME.get(name));
  }

  /** Whether this is HS256, HS384 or HS512, verified with a shared secret rather than a public key. */
  public boolean isHmac() {
    return minSecretBytes > 0;
  }

  /** The shortest HMAC secret RFC 7518 allows for this algorithm (the hash size); 0 for the others. */
  public int minSecretBytes() {
    return minSecretBytes;
  }

  JWSHeader header() {
    return header;
  }

  /**
   * Whether {@code key} is a public key this algorithm may be verified with: the right key type (and curve),
   * no other {@code alg} pinned on the key, and not marked for encryption only. Never true for HS*.
   */
  boolean fits(JWK key) {
    if (key.getAlgorithm() != null && !key.getAlgorithm().getName().equals(jws.getName())) {
      return false;
    }
    if (KeyUse.ENCRYPTION.equals(key.getKeyUse())) {
      return false;
    }
    if (key.getKeyOperations() != null && !key.getKeyOperations().contains(KeyOperation.VERIFY)) {
      return false;
    }
    return switch (this) {
      case RS256, RS384, RS512, PS256, PS384, PS512 -> key instanceof RSAKey;
      case ES256 -> key instanceof ECKey ec && Curve.P_256.equals(ec.getCurve());
      case ES384 -> key instanceof ECKey ec && Curve.P_384.equals(ec.getCurve());
      case ES512 -> key instanceof ECKey ec && Curve.P_521.equals(ec.getCurve());
      case EdDSA -> key instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve());
      case HS256, HS384, HS512 -> false;
    };
  }
}
