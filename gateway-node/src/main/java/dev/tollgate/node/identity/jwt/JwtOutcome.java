package dev.tollgate.node.identity.jwt;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** What {@link JwtVerifier#verify} found a bearer token to be. */
public sealed interface JwtOutcome {

  /**
   * A token whose signature, issuer, times, audience and required claims all checked out.
   *
   * @param issuer the {@code iss} of the token, one of the configured issuers
   * @param consumer the value of the issuer's consumer claim, never empty
   * @param groups the caller's groups from the issuer's groups claim, in token order; empty without one
   * @param claims all claims of the token, read-only, as JSON values (String, Long, Double, Boolean, List, Map, null)
   */
  record Verified(String issuer, String consumer, List<String> groups, Map<String, Object> claims) implements JwtOutcome {
    public Verified {
      Objects.requireNonNull(issuer, "issuer");
      Objects.requireNonNull(consumer, "consumer");
      groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
      // not Map.copyOf: JSON claims may be null
      claims = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(claims, "claims")));
    }
  }

  /**
   * A token the gateway refuses, to be answered with 401 and
   * {@code WWW-Authenticate: Bearer error="invalid_token", error_description="<description>"} (RFC 6750).
   *
   * @param description what is wrong, specific enough to debug with, yet never any part of the token nor a
   *     claim value (only algorithm names, configured claim names and numbers of seconds or bytes). Short
   *     printable ASCII without {@code "} or {@code \}, so it can be quoted in the header as is.
   */
  record Invalid(String description) implements JwtOutcome {
    public Invalid {
      Objects.requireNonNull(description, "description");
      if (description.isEmpty() || description.length() > 200
          || !description.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"' && c != '\\')) {
        throw new IllegalArgumentException("not a valid error_description: " + description);
      }
    }
  }
}
