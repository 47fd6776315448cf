package dev.tollgate.config;

import java.util.Objects;

/**
 * The request headers in which upstreams learn who the caller is. The gateway sets them for
 * consumers and removes them from every request as the client sent it, so an upstream can trust
 * them.
 *
 * @param id the header carrying the consumer's id
 * @param groups the header carrying the consumer's groups, comma-separated
 */
public record ConsumerHeaders(String id, String groups) {

  public static final ConsumerHeaders DEFAULT = new ConsumerHeaders("X-Consumer-Id", "X-Consumer-Groups");

  public ConsumerHeaders {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(groups, "groups");
    if (id.equalsIgnoreCase(groups)) {
      throw new IllegalArgumentException("id and groups: both " + id + " (expected: two different headers)");
    }
  }
}
