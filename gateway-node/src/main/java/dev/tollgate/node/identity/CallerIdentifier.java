package dev.tollgate.node.identity;

import dev.tollgate.node.route.RequestView;

/**
 * Tells who sent a request. The quota and policy code sees callers only through this, so that the
 * way callers identify themselves (static API keys today; a key directory and JWT later) can
 * change without touching them. Implementations are immutable per config version and thread-safe.
 */
public interface CallerIdentifier {

  Caller identify(RequestView request);

  /** Whether the header named {@code lowerCaseName} carries a credential and must not reach upstreams. */
  boolean isCredentialHeader(String lowerCaseName);
}
