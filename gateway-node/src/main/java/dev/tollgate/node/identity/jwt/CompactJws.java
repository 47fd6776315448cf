package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A bearer token read as a JWS in compact serialization, not yet verified: its algorithm, key hint and
 * claims. Reading refuses, with a specific description, anything that is not three base64url parts with a
 * JSON object header and payload, an {@code alg} we support, and no {@code crit}.
 *
 * <p>Keys embedded in or pointed to by the header ({@code jwk}, {@code jku}, {@code x5u}, {@code x5c}) are
 * never read: keys come only from the issuer's config.
 */
record CompactJws(SignatureAlgorithm algorithm, Optional<String> kid, Map<String, Object> claims, byte[] signingInput,
    Base64URL signature) {

  CompactJws {
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(kid, "kid");
    Objects.requireNonNull(claims, "claims");
    Objects.requireNonNull(signingInput, "signingInput");
    Objects.requireNonNull(signature, "signature");
  }

  static CompactJws read(String token, int maxBytes) throws TokenRejected {
    if (token.isEmpty()) {
      throw new TokenRejected("token is empty");
    }
    // before anything else looks at it, so an oversized token costs one comparison
    if (token.length() > maxBytes) {
      throw new TokenRejected("token is too large (over " + maxBytes + " bytes)");
    }
    int firstDot = token.indexOf('.');
    int secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
    if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
      long parts = token.chars().filter(c -> c == '.').count() + 1;
      throw new TokenRejected(parts == 5
          ? "token has 5 parts: encrypted tokens (JWE) are not accepted"
          : "token is not three base64url parts separated by dots");
    }
    String headerPart = token.substring(0, firstDot);
    String payloadPart = token.substring(firstDot + 1, secondDot);
    String signaturePart = token.substring(secondDot + 1);

    Map<String, Object> header = jsonObject(headerPart, "header");
    SignatureAlgorithm algorithm = algorithm(header.get("alg"));
    if (header.containsKey("crit")) {
      // RFC 7515 4.1.11: a recipient must refuse extensions it does not understand, and we understand none
      throw new TokenRejected("crit header is not supported");
    }
    Object kid = header.get("kid");
    if (kid != null && !(kid instanceof String)) {
      throw new TokenRejected("kid is not a string");
    }
    Map<String, Object> claims = jsonObject(payloadPart, "payload");
    if (signaturePart.isEmpty()) {
      throw new TokenRejected("signature is missing");
    }
    if (!isBase64Url(signaturePart)) {
      throw new TokenRejected("signature is not base64url");
    }
    byte[] signingInput = token.substring(0, secondDot).getBytes(StandardCharsets.US_ASCII);
    return new CompactJws(algorithm, Optional.ofNullable((String) kid), claims, signingInput, new Base64URL(signaturePart));
  }

  private static SignatureAlgorithm algorithm(Object alg) throws TokenRejected {
    if (alg == null) {
      throw new TokenRejected("alg is missing");
    }
    if (!(alg instanceof String name)) {
      throw new TokenRejected("alg is not a string");
    }
    if (name.equalsIgnoreCase("none")) {
      throw new TokenRejected("alg none is not accepted");
    }
    // the name is echoed only once it is known to be one of ours
    return SignatureAlgorithm.named(name).orElseThrow(() -> new TokenRejected("alg is not supported"));
  }

  private static Map<String, Object> jsonObject(String part, String name) throws TokenRejected {
    if (part.isEmpty()) {
      throw new TokenRejected(name + " is empty");
    }
    if (!isBase64Url(part)) {
      throw new TokenRejected(name + " is not base64url");
    }
    byte[] json;
    try {
      json = Base64.getUrlDecoder().decode(part);
    } catch (IllegalArgumentException e) {
      throw new TokenRejected(name + " is not base64url");
    }
    Map<String, Object> object;
    try {
      object = JSONObjectUtils.parse(new String(json, StandardCharsets.UTF_8));
    } catch (ParseException e) {
      object = null;
    }
    if (object == null) {
      throw new TokenRejected(name + " is not a JSON object");
    }
    return object;
  }

  /** Unpadded base64url (RFC 7515 2): only the URL-safe alphabet, and not a length no encoding has. */
  private static boolean isBase64Url(String part) {
    if (part.length() % 4 == 1) {
      return false;
    }
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }
}
