package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM public keys and certificates into JWKs with the JDK alone. Nimbus's own PEM reader needs
 * BouncyCastle, which the gateway does not otherwise carry.
 */
final class PemPublicKeys {

  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");
  // An Ed25519 SubjectPublicKeyInfo is this fixed DER prefix followed by the 32-byte key (RFC 8410).
  private static final byte[] ED25519_SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private PemPublicKeys() {}

  static List<JWK> parse(String pem) {
    List<JWK> keys = new ArrayList<>();
    Matcher block = BLOCK.matcher(pem);
    while (block.find()) {
      String type = block.group(1);
      int number = keys.size() + 1;
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(block.group(2));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("PEM block " + number + " (" + type + "): not base64", e);
      }
      try {
        PublicKey key = switch (type) {
          case "PUBLIC KEY" -> publicKey(der);
          case "CERTIFICATE" -> CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
          default -> throw new IllegalArgumentException("PEM block " + number + " is a " + type
              + " (expected: PUBLIC KEY or CERTIFICATE)");
        };
        keys.add(toJwk(key));
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException("PEM block " + number + " (" + type + "): " + e.getMessage(), e);
      }
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("no PEM block found (expected -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----)");
    }
    return keys;
  }

  private static PublicKey publicKey(byte[] der) throws GeneralSecurityException {
    X509EncodedKeySpec spec = new X509EncodedKeySpec(der);
    for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePublic(spec);
      } catch (GeneralSecurityException notThisOne) {
        // the SubjectPublicKeyInfo names its algorithm; only the matching factory accepts it
      }
    }
    throw new GeneralSecurityException("not an RSA, EC or Ed25519 public key");
  }

  private static JWK toJwk(PublicKey key) throws GeneralSecurityException {
    if (key instanceof RSAPublicKey rsa) {
      return new RSAKey.Builder(rsa).build();
    }
    if (key instanceof ECPublicKey ec) {
      Curve curve = Curve.forECParameterSpec(ec.getParams());
      if (curve == null) {
        throw new GeneralSecurityException("EC key on an unsupported curve");
      }
      return new ECKey.Builder(curve, ec).build();
    }
    byte[] spki = key.getEncoded();
    if ("Ed25519".equals(key.getAlgorithm()) || "EdDSA".equals(key.getAlgorithm())) {
      if (spki.length == ED25519_SPKI_PREFIX.length + 32
          && Arrays.equals(spki, 0, ED25519_SPKI_PREFIX.length, ED25519_SPKI_PREFIX, 0, ED25519_SPKI_PREFIX.length)) {
        byte[] x = Arrays.copyOfRange(spki, ED25519_SPKI_PREFIX.length, spki.length);
        return new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(x)).build();
      }
    }
    throw new GeneralSecurityException("a " + key.getAlgorithm() + " key is not usable (expected RSA, EC or Ed25519)");
  }
}
