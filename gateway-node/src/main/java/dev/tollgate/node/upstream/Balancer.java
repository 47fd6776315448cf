package dev.tollgate.node.upstream;

import java.util.List;

/**
 * Picks the target of one attempt. Built once per upstream and config version; {@link #pick} runs
 * on every request from many threads at once, so it must be thread-safe and allocation-light.
 */
public interface Balancer {

  /**
   * Chooses an available target that is not in {@code tried} (the targets of earlier attempts of
   * this request; usually empty).
   *
   * @return the target, or null when no available target is left
   */
  UpstreamTarget pick(HashInput request, List<UpstreamTarget> tried);
}
