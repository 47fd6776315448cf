package dev.tollgate.cluster.quota;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Reads what a {@link ConsumerQuota} entity holds for some of its limits, without granting,
 * returning or storing anything ({@link ConsumerQuota.GetUsage}); for the admin API.
 */
public interface QuotaUsage {

  /** Fails when the entity does not answer within {@code timeout}. */
  CompletionStage<ConsumerQuota.Usage> usage(String entityId, List<LimitSpec> limits, Duration timeout);
}
