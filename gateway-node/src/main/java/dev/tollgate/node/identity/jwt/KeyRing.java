package dev.tollgate.node.identity.jwt;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The keys of one issuer as loaded at one time, fresh until {@code freshUntil} ({@link Instant#MAX} for
 * keys from the config). Immutable, so a verification reads it without locking.
 */
record KeyRing(List<VerificationKey> keys, Instant freshUntil) {

  KeyRing {
    keys = List.copyOf(Objects.requireNonNull(keys, "keys"));
    Objects.requireNonNull(freshUntil, "freshUntil");
  }

  /**
   * The keys a token with this {@code kid} (if any) and algorithm may be checked against, or why there are
   * none. Keys named by the kid come first and alone; a key without a kid (a PEM key, the HMAC secret) may
   * verify any token, since the kid is only a hint of which key to use.
   */
  Selection select(Optional<String> kid, SignatureAlgorithm algorithm) {
    List<VerificationKey> named = new ArrayList<>(1);
    List<VerificationKey> unnamed = new ArrayList<>(1);
    boolean kidKnown = false;
    for (VerificationKey key : keys) {
      if (kid.isPresent() && kid.equals(key.kid())) {
        kidKnown = true;
        if (key.fits(algorithm)) {
          named.add(key);
        }
      } else if ((kid.isEmpty() || key.kid().isEmpty()) && key.fits(algorithm)) {
        unnamed.add(key);
      }
    }
    if (kidKnown) {
      return named.isEmpty()
          ? new Selection.Missing("the key with this kid does not fit alg " + algorithm.name(), false)
          : new Selection.Found(named);
    }
    if (!unnamed.isEmpty()) {
      return new Selection.Found(unnamed);
    }
    return kid.isPresent()
        ? new Selection.Missing("no key matches kid", true)
        : new Selection.Missing("no key fits alg " + algorithm.name(), true);
  }

  /** The outcome of {@link #select}. */
  sealed interface Selection {

    /** Keys to try, in order, until one verifies. */
    record Found(List<VerificationKey> keys) implements Selection {}

    /**
     * No key to try.
     *
     * @param refreshable whether a newer key set might have one (an unknown kid may be a rotated-in key; a
     *     known kid that does not fit the algorithm will not start to)
     */
    record Missing(String description, boolean refreshable) implements Selection {}
  }
}
