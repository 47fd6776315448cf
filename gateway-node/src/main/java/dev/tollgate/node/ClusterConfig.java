package dev.tollgate.node;

import dev.tollgate.cluster.config.ConfigFeed;
import dev.tollgate.cluster.config.ConfigStore;
import dev.tollgate.cluster.config.ConfigStore.ConfigVersion;
import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.node.proxy.ProxyServer;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's side of the cluster's config: seeds the {@link ConfigStore} with the node's file, serves
 * the store's current version, and swaps in each newer one that the {@link ConfigFeed} brings.
 * Each version is compiled once on this node and swapped in atomically; requests in flight finish
 * on the version they started with.
 */
final class ClusterConfig {

  private static final Logger log = LoggerFactory.getLogger(ClusterConfig.class);
  /** How long a starting node waits for the store (the cluster forming, the singleton recovering). */
  private static final Duration SEED_TIMEOUT = Duration.ofSeconds(30);

  private final ProxyServer proxy;
  private final AtomicLong serving = new AtomicLong();

  private ClusterConfig(ProxyServer proxy) {
    this.proxy = proxy;
  }

  /**
   * Seeds the store and takes its current version, then follows it. Completes when the proxy has
   * the current version, or, if the store does not answer in time, with the seed's config and a
   * warning: the feed brings the current version once the cluster answers.
   */
  static CompletionStage<Void> start(ActorSystem<?> system, ProxyServer proxy, ActorRef<ConfigStore.Command> store,
      GatewayNode.ConfigSeed seed) {
    ClusterConfig config = new ClusterConfig(proxy);
    String seedDigest = ConfigStore.digest(seed.document());
    return AskPattern.<ConfigStore.Command, ConfigStore.Reply>ask(store,
            r -> new ConfigStore.Seed(seed.document(), ConfigStore.SEED_PREFIX + seed.source(), r), SEED_TIMEOUT, system.scheduler())
        .handle((reply, failure) -> {
          if (failure != null) {
            log.warn("Config: the cluster's config store did not answer within {} s ({}); serving {} until it does",
                SEED_TIMEOUT.toSeconds(), failure.toString(), seed.source());
          } else if (reply instanceof ConfigStore.Applied applied) {
            log.info("Config: {} stored as version {} of the cluster's config", seed.source(), applied.version().version());
            config.number(applied.version().version());
          } else if (reply instanceof ConfigStore.Unchanged unchanged) {
            ConfigVersion current = unchanged.current();
            if (current.digest().equals(seedDigest)) {
              log.info("Config: {} is the cluster's version {} already", seed.source(), current.version());
              config.number(current.version());
            } else {
              log.warn("Config: the cluster's version {} (applied by {} at {}) wins over {}, which is not applied:"
                  + " a file does not replace config applied through the admin API", current.version(), current.appliedBy(),
                  Instant.ofEpochMilli(current.appliedAtMillis()), seed.source());
              config.take(current);
            }
          } else {
            log.error("Config: the store refused the seed: {}", reply);
          }
          ConfigFeed.follow(system, "tollgate-config-feed", config::take);
          return null;
        });
  }

  /** The seed is in service already as version {@code version}: the proxy's config takes its number. */
  private synchronized void number(long version) {
    proxy.apply(proxy.currentConfig(), version);
    serving.set(version);
  }

  /** Compiles and swaps in a version newer than the one served; one that does not load is logged and skipped. */
  private synchronized void take(ConfigVersion version) {
    if (version.version() <= serving.get()) {
      return;
    }
    try {
      proxy.apply(ConfigLoader.parse(version.document(), "config version " + version.version()), version.version());
      serving.set(version.version());
      log.info("Config: version {} (applied by {}) in service", version.version(), version.appliedBy());
    } catch (ConfigException | RuntimeException e) {
      log.error("Config: version {} does not load on this node ({}); still serving version {}", version.version(),
          e.getMessage(), serving.get());
    }
  }
}
