package dev.tollgate.node.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The bearer tokens admin requests may carry, each with its name ({@code tollgate.admin.token} as
 * {@code admin}, and {@code tollgate.admin.tokens}). Held and compared as SHA-256 digests, and a
 * presented token is compared with every one of them, so that the time a check takes depends on
 * neither the token sent (its length, its first wrong byte) nor which token it matches.
 */
final class AdminTokens {

  /** How a request's {@code Authorization} header compares with the tokens. */
  enum Verdict { ACCEPTED, MISSING, WRONG }

  /** A check's outcome, and the name of the token that matched when it was accepted. */
  record Check(Verdict verdict, Optional<String> name) {

    static final Check MISSING = new Check(Verdict.MISSING, Optional.empty());
    static final Check WRONG = new Check(Verdict.WRONG, Optional.empty());
  }

  private final List<String> names = new ArrayList<>();
  private final List<byte[]> digests = new ArrayList<>();

  /** @param tokens token by name; names in the order given, tokens all different */
  AdminTokens(Map<String, String> tokens) {
    Objects.requireNonNull(tokens, "tokens");
    if (tokens.isEmpty()) {
      throw new IllegalArgumentException("no tokens admit everyone: use no AdminTokens instead");
    }
    tokens.forEach((name, token) -> {
      if (token.isEmpty()) {
        throw new IllegalArgumentException("token " + name + ": empty (an empty token admits everyone)");
      }
      names.add(name);
      digests.add(sha256(token));
    });
  }

  /** @param authorization the request's {@code Authorization} header, if it has one */
  Check check(Optional<String> authorization) {
    if (authorization.isEmpty()) {
      return Check.MISSING;
    }
    String value = authorization.get().strip();
    int space = value.indexOf(' ');
    // The scheme is case-insensitive (RFC 9110, 11.1).
    if (space < 0 || !value.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) {
      return Check.MISSING;
    }
    byte[] presented = sha256(value.substring(space + 1).strip());
    int match = -1;
    for (int i = 0; i < digests.size(); i++) {
      // No early exit: every token is compared, whichever matches.
      if (MessageDigest.isEqual(digests.get(i), presented)) {
        match = i;
      }
    }
    return match < 0 ? Check.WRONG : new Check(Verdict.ACCEPTED, Optional.of(names.get(match)));
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
    return "AdminTokens" + names + " (hidden)";
  }
}
