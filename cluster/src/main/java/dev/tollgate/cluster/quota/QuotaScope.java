package dev.tollgate.cluster.quota;

import dev.tollgate.config.OnUnavailable;
import java.util.List;
import java.util.Objects;

/**
 * One caller's limits in one scope: the {@link ConsumerQuota} entity that owns them, the limits
 * themselves, the names they carry in {@code RateLimit-Policy}, and what to do when the entity
 * cannot be reached.
 *
 * @param entityId the entity's id, such as {@code plan:gold:c:acme} or {@code route:search:ip:10.0.0.7}
 * @param names one policy name per limit, in the same order
 */
public record QuotaScope(String entityId, List<LimitSpec> limits, List<String> names, OnUnavailable onUnavailable) {

  public QuotaScope {
    Objects.requireNonNull(entityId, "entityId");
    if (entityId.isEmpty() || entityId.indexOf('|') >= 0) {
      // Pekko Persistence separates the entity type from the entity id with '|' and refuses ids holding it.
      throw new IllegalArgumentException("entityId: \"" + entityId + "\" (expected: not empty, without '|')");
    }
    limits = List.copyOf(limits);
    names = List.copyOf(names);
    Objects.requireNonNull(onUnavailable, "onUnavailable");
    if (limits.isEmpty() || limits.size() != names.size()) {
      throw new IllegalArgumentException("limits and names: " + limits.size() + " and " + names.size()
          + " (expected: as many names as limits, at least one)");
    }
  }
}
