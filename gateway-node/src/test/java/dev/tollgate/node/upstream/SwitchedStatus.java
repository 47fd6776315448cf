package dev.tollgate.node.upstream;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Health that a test switches by hand: every target is available unless switched off. */
final class SwitchedStatus implements UpstreamStatus {

  private final Set<UpstreamTarget> off = ConcurrentHashMap.newKeySet();

  void switchOff(UpstreamTarget target) {
    off.add(target);
  }

  void switchOn(UpstreamTarget target) {
    off.remove(target);
  }

  @Override
  public boolean isAvailable(UpstreamTarget target) {
    return !off.contains(target);
  }
}
