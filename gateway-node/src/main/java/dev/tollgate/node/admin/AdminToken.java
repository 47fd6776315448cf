package dev.tollgate.node.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The bearer token admin requests must carry. Held and compared as SHA-256 digests, so that the
 * comparison takes the same time whatever the length or the first wrong byte of what was sent.
 */
final class AdminToken {

  /** How a request's {@code Authorization} header compares with the token. */
  enum Verdict { ACCEPTED, MISSING, WRONG }

  private final byte[] digest;

  AdminToken(String token) {
    Objects.requireNonNull(token, "token");
    if (token.isEmpty()) {
      throw new IllegalArgumentException("an empty token admits everyone: use no AdminToken instead");
    }
    this.digest = sha256(token);
  }

  /** @param authorization the request's {@code Authorization} header, if it has one */
  Verdict check(Optional<String> authorization) {
    if (authorization.isEmpty()) {
      return Verdict.MISSING;
    }
    String value = authorization.get().strip();
    int space = value.indexOf(' ');
    // The scheme is case-insensitive (RFC 9110, 11.1).
    if (space < 0 || !value.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) {
      return Verdict.MISSING;
    }
    String presented = value.substring(space + 1).strip();
    return MessageDigest.isEqual(digest, sha256(presented)) ? Verdict.ACCEPTED : Verdict.WRONG;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "AdminToken[(hidden)]";
  }
}
