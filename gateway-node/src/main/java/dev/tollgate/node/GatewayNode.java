package dev.tollgate.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.cluster.ClusterMembership;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.proxy.ProxyServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One running Tollgate node: its actor system and its proxy listener. */
public final class GatewayNode {

  private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);

  private final ActorSystem<Void> system;
  private final ProxyServer proxy;
  private final InetSocketAddress proxyAddress;
  private final NodeSettings settings;

  private GatewayNode(ActorSystem<Void> system, ProxyServer proxy, InetSocketAddress proxyAddress, NodeSettings settings) {
    this.system = system;
    this.proxy = proxy;
    this.proxyAddress = proxyAddress;
    this.settings = settings;
  }

  /**
   * Starts a node and binds its proxy.
   *
   * @param overrides HOCON from the user (settings file, environment, system properties) that may
   *     also carry {@code pekko.*} settings; {@code ConfigFactory.empty()} for none
   */
  public static CompletionStage<GatewayNode> start(NodeSettings settings, Config overrides, GatewayConfig config) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), ClusterMembership.SYSTEM_NAME, pekkoConfig(settings, overrides));
    ProxyServer proxy;
    try {
      ClusterMembership.join(system, settings.cluster());
      proxy = new ProxyServer(system, settings, config);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
    return proxy.start()
        .thenApply(address -> new GatewayNode(system, proxy, address, settings))
        .exceptionallyCompose(e -> {
          system.terminate();
          return CompletableFuture.failedFuture(e);
        });
  }

  /**
   * The actor system's config: node settings mapped onto Pekko (proxy limits, cluster membership),
   * over the user's, over our defaults.
   */
  static Config pekkoConfig(NodeSettings settings, Config overrides) {
    NodeSettings.Proxy p = settings.proxy();
    Config derived = ConfigFactory.parseMap(Map.of(
        "pekko.http.server.parsing.max-uri-length", p.maxUriLength(),
        "pekko.http.server.parsing.max-header-value-length", p.maxHeaderBytes(),
        "pekko.http.server.idle-timeout", p.idleTimeout().toMillis() + "ms"))
        .withFallback(ClusterMembership.pekkoConfig(settings.cluster()));
    return derived
        .withFallback(overrides)
        .withFallback(ConfigFactory.parseResources(GatewayNode.class.getClassLoader(), "tollgate-node.conf"))
        .withFallback(ConfigFactory.defaultReference(GatewayNode.class.getClassLoader()))
        .resolve();
  }

  public InetSocketAddress proxyAddress() {
    return proxyAddress;
  }

  public ProxyServer proxy() {
    return proxy;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** Applies a new declarative config; requests in flight finish on the old one. */
  public void apply(GatewayConfig config) {
    proxy.apply(config);
  }

  /**
   * Stops the node gracefully: stop accepting, let requests in flight finish within the grace
   * period, then stop the actor system.
   *
   * @return completes when the node has stopped; true if nothing was cut off
   */
  public CompletionStage<Boolean> shutdown() {
    return shutdown(settings.shutdownGrace());
  }

  public CompletionStage<Boolean> shutdown(Duration grace) {
    log.info("Stopping: no new connections; waiting up to {} ms for {} requests in flight", grace.toMillis(), proxy.inFlight());
    return proxy.drain(grace).thenCompose(clean -> {
      system.terminate();
      return system.getWhenTerminated().thenApply(done -> clean);
    });
  }
}
