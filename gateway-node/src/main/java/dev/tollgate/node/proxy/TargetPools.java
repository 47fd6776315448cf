package dev.tollgate.node.proxy;

import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.Target;
import dev.tollgate.config.Timeouts;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The node's connection pools, one per target and connection settings, shared by every config
 * version that uses them, so that a config change keeps warm connections.
 */
final class TargetPools implements AutoCloseable {

  private record Key(String url, Timeouts timeouts) {}

  private final ActorSystem<?> system;
  private final NodeSettings.UpstreamPool settings;
  private final ConcurrentHashMap<Key, TargetPool> pools = new ConcurrentHashMap<>();

  TargetPools(ActorSystem<?> system, NodeSettings.UpstreamPool settings) {
    this.system = system;
    this.settings = settings;
  }

  TargetPool get(Target target, Timeouts timeouts) {
    return pools.computeIfAbsent(new Key(target.url(), timeouts), k -> new TargetPool(system, target, timeouts, settings));
  }

  @Override
  public void close() {
    pools.values().forEach(TargetPool::close);
    pools.clear();
  }
}
