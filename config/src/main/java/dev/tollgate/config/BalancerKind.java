package dev.tollgate.config;

/** How an upstream spreads requests over its healthy targets. */
public enum BalancerKind {
  /** Each target in turn; weights are ignored. */
  ROUND_ROBIN("round-robin"),
  /** Smooth weighted round-robin: each target gets its weight's share, interleaved. */
  WEIGHTED("weighted"),
  /** The target with the fewest requests in flight on this node (ties broken in turn). */
  LEAST_REQUESTS("least-requests"),
  /** A hash ring keyed by a header, a cookie or the client IP: the same key sticks to the same target. */
  CONSISTENT_HASH("consistent-hash");

  private final String configName;

  BalancerKind(String configName) {
    this.configName = configName;
  }

  /** The name used in the YAML file. */
  public String configName() {
    return configName;
  }
}
