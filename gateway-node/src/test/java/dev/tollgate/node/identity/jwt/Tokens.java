package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.factories.DefaultJWSSignerFactory;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** Makes tokens for tests: properly signed ones with nimbus, and hand-made ones no library would make. */
final class Tokens {

  private Tokens() {}

  /** A JWS over these claims as they are, even ones no JWT library would write (an exp that is a string). */
  static String signed(JWK key, JWSAlgorithm alg, String kid, Map<String, Object> claims) {
    return signed(key, new JWSHeader.Builder(alg).keyID(kid).build(), JSONObjectUtils.toJSONString(claims));
  }

  static String signed(JWK key, JWSHeader header, String payloadJson) {
    try {
      JWSObject jws = new JWSObject(header, new Payload(payloadJson));
      jws.sign(new DefaultJWSSignerFactory().createJWSSigner(key, header.getAlgorithm()));
      return jws.serialize();
    } catch (JOSEException e) {
      throw new AssertionError(e);
    }
  }

  /** HS256 over header and payload with any bytes as the secret, as an attacker would. */
  static String hs256(String headerJson, String payloadJson, byte[] secret) {
    String signingInput = b64(headerJson) + "." + b64(payloadJson);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return signingInput + "." + b64(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  static String raw(String headerJson, String payloadJson, String signaturePart) {
    return b64(headerJson) + "." + b64(payloadJson) + "." + signaturePart;
  }

  static String b64(String json) {
    return b64(json.getBytes(StandardCharsets.UTF_8));
  }

  static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
