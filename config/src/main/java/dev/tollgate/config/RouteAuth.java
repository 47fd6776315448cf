package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Who may use a route and how callers identify themselves on it.
 *
 * @param accept the kinds of caller the route takes; a request of another kind gets 401
 * @param apiKey where the route looks for an API key, and whether the upstream still receives it
 * @param allow if present, only these consumers and members of these groups may use the route;
 *     other consumers get 403
 */
public record RouteAuth(Set<Credential> accept, ApiKeySource apiKey, Optional<Allow> allow) {

  /** A kind of caller a route can take. */
  public enum Credential {
    /** A consumer that sends one of its API keys. */
    API_KEY,
    /** A caller that sends a JWT of one of the file's {@code jwt.issuers}, as a bearer token. */
    JWT,
    /** A caller that sends no credential, counted by client IP. */
    ANONYMOUS
  }

  /**
   * Where an API key is read from: a header (the file's {@code api_keys.header} unless the route
   * names another) and, if named, a query parameter.
   *
   * @param keep whether the upstream still receives the key (by default it is removed)
   */
  public record ApiKeySource(Optional<String> header, Optional<String> query, boolean keep) {

    public static final ApiKeySource DEFAULT = new ApiKeySource(Optional.empty(), Optional.empty(), false);

    public ApiKeySource {
      Objects.requireNonNull(header, "header");
      Objects.requireNonNull(query, "query");
    }
  }

  /** The consumers, and the groups whose members, may use a route; at least one of them is given. */
  public record Allow(List<String> groups, List<String> consumers) {

    public Allow {
      groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
      consumers = List.copyOf(Objects.requireNonNull(consumers, "consumers"));
      if (groups.isEmpty() && consumers.isEmpty()) {
        throw new IllegalArgumentException("allow: no groups and no consumers (expected: at least one of them)");
      }
    }

    /** Whether a consumer with this id and these groups may use the route. */
    public boolean admits(String consumer, List<String> consumerGroups) {
      return consumers.contains(consumer) || consumerGroups.stream().anyMatch(groups::contains);
    }
  }

  /** Every caller: a known API key, or none at all; a wrong key gets 401. */
  public static final RouteAuth DEFAULT =
      new RouteAuth(Set.of(Credential.API_KEY, Credential.ANONYMOUS), ApiKeySource.DEFAULT, Optional.empty());

  public RouteAuth {
    accept = Set.copyOf(Objects.requireNonNull(accept, "accept"));
    Objects.requireNonNull(apiKey, "apiKey");
    Objects.requireNonNull(allow, "allow");
    if (accept.isEmpty()) {
      throw new IllegalArgumentException("accept: empty (expected: at least one kind of caller)");
    }
    if (allow.isPresent() && accept.contains(Credential.ANONYMOUS)) {
      throw new IllegalArgumentException("allow with anonymous callers (expected: allow only on routes that need a credential)");
    }
  }
}
