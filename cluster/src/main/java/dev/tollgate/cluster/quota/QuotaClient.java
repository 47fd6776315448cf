package dev.tollgate.cluster.quota;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The node's side of the quotas: decides whether a request may pass all limits of its scopes. Most
 * decisions are local and complete at once; only a lease miss waits for an entity.
 */
public interface QuotaClient {

  /**
   * Admits one request against every limit of every scope, or refuses it; tokens taken from the
   * scopes checked before a refusing one are put back.
   */
  CompletionStage<Verdict> admit(List<QuotaScope> scopes);

  /** Returns every unused token to the entities, for a node that is leaving. */
  CompletionStage<Void> releaseAll();
}
