package dev.tollgate.node.identity.jwt;

/**
 * Why a token is refused, thrown while reading and checking it and turned into {@link JwtOutcome.Invalid}
 * before it leaves the package. Without a stack trace: bad tokens are ordinary traffic, and cheap to refuse.
 */
final class TokenRejected extends Exception {

  TokenRejected(String description) {
    super(description, null, false, false);
  }

  JwtOutcome.Invalid outcome() {
    return new JwtOutcome.Invalid(getMessage());
  }
}
