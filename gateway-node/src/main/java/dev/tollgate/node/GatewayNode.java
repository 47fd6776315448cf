package dev.tollgate.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.cluster.ClusterMembership;
import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.quota.ConsumerQuota;
import dev.tollgate.cluster.quota.LeasedQuotaClient;
import dev.tollgate.cluster.quota.ShardedQuotaEntities;
import dev.tollgate.cluster.upstream.TargetBoard;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.node.admin.AdminServer;
import dev.tollgate.node.identity.ApiKeyDirectory;
import dev.tollgate.node.identity.ClusterDirectoryKeys;
import dev.tollgate.node.metrics.Metrics;
import dev.tollgate.node.metrics.MetricsServer;
import dev.tollgate.node.metrics.StateSampler;
import dev.tollgate.node.proxy.ProxyServer;
import dev.tollgate.persistence.Database;
import dev.tollgate.persistence.DatabaseSchema;
import java.time.Clock;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Tollgate node: its actor system (a cluster member, with the quota entities' sharding
 * and their database), the node's side of the quotas, its proxy listener and its admin API.
 */
public final class GatewayNode {

  private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);

  private final ActorSystem<Void> system;
  private final ProxyServer proxy;
  private final LeasedQuotaClient quota;
  private final InetSocketAddress proxyAddress;
  private final NodeSettings settings;

  private final Optional<CredentialDirectory> directory;
  private final Optional<AdminServer> admin;
  private final InetSocketAddress managementAddress;
  private final Optional<MetricsServer> metricsServer;
  private final Optional<StateSampler> sampler;
  /** The grace period of the shutdown under way (or the settings', before one). */
  private volatile Duration grace;
  /** Whether the shutdown's drain saw every request in flight finish. */
  private volatile boolean clean = true;

  private GatewayNode(ActorSystem<Void> system, ProxyServer proxy, LeasedQuotaClient quota, InetSocketAddress proxyAddress,
      NodeSettings settings, Optional<CredentialDirectory> directory, Optional<AdminServer> admin,
      InetSocketAddress managementAddress, Optional<MetricsServer> metricsServer, Optional<StateSampler> sampler) {
    this.managementAddress = managementAddress;
    this.metricsServer = metricsServer;
    this.sampler = sampler;
    this.system = system;
    this.proxy = proxy;
    this.quota = quota;
    this.proxyAddress = proxyAddress;
    this.settings = settings;
    this.directory = directory;
    this.admin = admin;
  }

  /**
   * Starts a node, binds its proxy, then its admin API.
   *
   * @param overrides HOCON from the user (settings file, environment, system properties) that may
   *     also carry {@code pekko.*} settings; {@code ConfigFactory.empty()} for none
   */
  public static CompletionStage<GatewayNode> start(NodeSettings settings, Config overrides, GatewayConfig config) {
    return start(settings, overrides, config, Optional.empty());
  }

  /**
   * A declarative config document for the cluster's config store.
   *
   * @param source where it came from, for the log and the history ({@code seed:<source>})
   */
  public record ConfigSeed(String document, String source) {}

  /**
   * Starts a node whose routes come from the cluster's config store: the seed (the {@code --config}
   * file) becomes version 1 of an empty store; a store that has versions keeps them, and the node
   * serves the current one (the log says which won). Before the proxy binds, the node has the
   * current version; afterwards it follows every version applied anywhere in the cluster.
   */
  public static CompletionStage<GatewayNode> start(NodeSettings settings, Config overrides, ConfigSeed seed)
      throws dev.tollgate.config.ConfigException {
    return start(settings, overrides, dev.tollgate.config.ConfigLoader.parse(seed.document(), seed.source()),
        Optional.of(seed));
  }

  private static CompletionStage<GatewayNode> start(NodeSettings settings, Config overrides, GatewayConfig config,
      Optional<ConfigSeed> seed) {
    Database database = database(settings.storage());
    createSchema(database);
    Optional<CredentialDirectory> directory = startDirectory(settings, database);
    ActorSystem<Void> system;
    try {
      system = ActorSystem.create(Behaviors.empty(), ClusterMembership.SYSTEM_NAME,
          pekkoConfig(settings, overrides, database));
    } catch (RuntimeException e) {
      directory.ifPresent(CredentialDirectory::close);
      throw e;
    }
    Metrics metrics = Metrics.start(settings.metrics());
    ProxyServer proxy;
    LeasedQuotaClient quota;
    ShardedQuotaEntities entities;
    try {
      ClusterMembership.join(system, settings.cluster());
      NodeSettings.Quota q = settings.quota();
      entities = new ShardedQuotaEntities(system, ConsumerQuota.Settings.DEFAULT, q.askTimeout());
      quota = new LeasedQuotaClient(entities,
          new LeasedQuotaClient.Settings(q.unavailableBackoff(), Duration.ofSeconds(1), q.idleRelease(),
              q.passivateAfter(), LeasedQuotaClient.Settings.DEFAULT.maxAsks()),
          Clock.systemUTC(), System::nanoTime);
      proxy = new ProxyServer(system, settings, config, quota,
          directory.<ApiKeyDirectory>map(ClusterDirectoryKeys::new).orElse(ApiKeyDirectory.NONE),
          TargetBoard.start(system, TargetBoard.Settings.DEFAULT), metrics);
    } catch (RuntimeException e) {
      system.terminate();
      directory.ifPresent(CredentialDirectory::close);
      throw e;
    }
    // The cluster's config store, when this node's config comes from it: one reference for the
    // node's side of the config and for the admin API.
    Optional<org.apache.pekko.actor.typed.ActorRef<dev.tollgate.cluster.config.ConfigStore.Command>> store =
        seed.map(s -> dev.tollgate.cluster.config.ConfigStore.singleton(system, Clock.systemUTC()));
    return warmUp(entities)
        .thenCompose(ready -> seed.map(s -> ClusterConfig.start(system, proxy, store.get(), s))
            .orElse(CompletableFuture.completedFuture(null)))
        .thenCompose(ready -> proxy.start())
        .thenCompose(address -> startAdmin(system, settings, proxy, directory, store, entities)
            .thenCompose(admin -> org.apache.pekko.management.javadsl.PekkoManagement.get(system.classicSystem()).start()
                .thenCompose(uri -> startMetrics(system, settings.metrics(), metrics).thenApply(metricsServer -> {
                  Optional<StateSampler> sampler = StateSampler.start(system, metrics, new StateSampler.Sources(
                      proxy::currentVersion, proxy::upstreamTargets, proxy.targets()::statuses, proxy::inFlight,
                      proxy::accessLogDrops, quota::stats, directory), settings.metrics().interval());
                  GatewayNode node = new GatewayNode(system, proxy, quota, address, settings, directory, admin,
                      new InetSocketAddress(uri.host().address(), uri.port()), metricsServer, sampler);
                  node.addShutdownTasks();
                  NodeLifecycle.get(system).serving();
                  log.info("Health checks on {}: /alive, /ready", uri);
                  return node;
                }))))
        .exceptionallyCompose(e -> {
          quota.close();
          system.terminate();
          directory.ifPresent(CredentialDirectory::close);
          return CompletableFuture.failedFuture(e);
        });
  }

  /**
   * Asks a quota entity once before the proxy binds, so that the first consumers do not wait for
   * the shard coordinator and the durable-state store to start (which can take longer than the ask
   * timeout). Bounded: a node whose cluster or database is not there binds anyway, and its quotas
   * follow {@code on_unavailable} meanwhile.
   */
  private static CompletionStage<Void> warmUp(ShardedQuotaEntities entities) {
    long start = System.nanoTime();
    return entities.acquire("_warm-up", java.util.List.of(), Duration.ofSeconds(20))
        .handle((answer, failure) -> {
          if (failure != null) {
            log.warn("Quota sharding did not answer within 20 s ({}); binding anyway", failure.toString());
          } else {
            log.debug("Quota sharding answered after {} ms", (System.nanoTime() - start) / 1_000_000);
          }
          return null;
        });
  }

  /**
   * Binds the admin API. One that cannot bind (its port is taken) does not stop the node, as the
   * proxy matters more than changing consumers: the node runs without it and says so at ERROR.
   */
  private static CompletionStage<Optional<AdminServer>> startAdmin(ActorSystem<Void> system, NodeSettings settings,
      ProxyServer proxy, Optional<CredentialDirectory> directory,
      Optional<org.apache.pekko.actor.typed.ActorRef<dev.tollgate.cluster.config.ConfigStore.Command>> store,
      ShardedQuotaEntities entities) {
    NodeSettings.Admin a = settings.admin();
    return AdminServer.start(system, a, settings.proxy().requestIdHeader(), proxy::currentConfig, directory, store,
        entities, Optional.of(new dev.tollgate.node.admin.UpstreamsView(proxy::upstreamTargets, proxy.targets())))
        .handle((server, failure) -> {
          if (failure != null) {
            log.error("The admin API did not bind on {}:{} ({}); this node runs without it", a.host(), a.port(),
                failure.toString());
            return Optional.empty();
          }
          return Optional.of(server);
        });
  }

  /**
   * Binds {@code /metrics}, when metrics are on. Like the admin API, one that cannot bind does not
   * stop the node: it proxies without, and says so at ERROR.
   */
  private static CompletionStage<Optional<MetricsServer>> startMetrics(ActorSystem<Void> system,
      NodeSettings.Metrics settings, Metrics metrics) {
    if (!metrics.enabled()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return MetricsServer.start(system, settings, metrics).handle((server, failure) -> {
      if (failure != null) {
        log.error("Metrics did not bind on {}:{} ({}); this node runs without /metrics", settings.host(), settings.port(),
            failure.toString());
        return Optional.empty();
      }
      log.info("Metrics on http://{}:{}/metrics", server.address().getHostString(), server.address().getPort());
      return Optional.of(server);
    });
  }

  /**
   * Starts this node's member of the consumer and API key directory, joined with the other nodes'.
   * A node whose database cannot be reached starts without it (its file's consumers still work)
   * and says so.
   */
  static Optional<CredentialDirectory> startDirectory(NodeSettings settings, Database database) {
    NodeSettings.Directory d = settings.directory();
    String host = settings.cluster().host();
    int port = d.port() == 0 ? freePort(host) : d.port();
    List<String> members = !d.members().isEmpty() ? d.members() : java.util.stream.Stream.concat(
        java.util.stream.Stream.of(host + ":" + port),
        settings.cluster().seeds().stream().map(seed -> seed.substring(0, seed.lastIndexOf(':')) + ":" + port))
        .distinct().toList();
    try {
      CredentialDirectory directory = CredentialDirectory.start(new CredentialDirectory.Settings(
          "tollgate", host, port, members, d.backupCount(), d.nearCacheSize(), d.serviceDns()), database, Clock.systemUTC());
      log.info("Consumer directory member on {}:{}, {} member(s)", host, port, directory.members());
      return Optional.of(directory);
    } catch (java.sql.SQLException | RuntimeException e) {
      log.error("The consumer directory did not start ({}): only the config file's consumers are known on this node",
          e.toString());
      return Optional.empty();
    }
  }

  private static int freePort(String host) {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
      return socket.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("no free port on " + host, e);
    }
  }

  /** Where {@code /metrics} is served, unless metrics are off or could not bind. */
  public Optional<InetSocketAddress> metricsAddress() {
    return metricsServer.map(MetricsServer::address);
  }

  /** Where the admin API listens, unless it could not bind. */
  public Optional<InetSocketAddress> adminAddress() {
    return admin.map(AdminServer::address);
  }

  /** The consumer and API key directory, unless it could not start. */
  public Optional<CredentialDirectory> directory() {
    return directory;
  }

  /** The database of the node's durable state: PostgreSQL when configured, else H2 under the data dir. */
  static Database database(NodeSettings.Storage storage) {
    return storage.usesPostgres()
        ? Database.postgres(storage.postgresUrl(), storage.postgresUser(), storage.postgresPassword())
        : Database.h2(storage.dataDir());
  }

  /**
   * Creates the persistence tables if they are missing. A database that cannot be reached does not
   * stop the node: it proxies, and quotas follow their plans' {@code on_unavailable} until the
   * database answers (the entities retry with back-off, and the schema is tried again then).
   */
  private static void createSchema(Database database) {
    try {
      DatabaseSchema.create(database);
      log.info("Durable state in {}", database);
    } catch (java.sql.SQLException | RuntimeException e) {
      log.error("Cannot create the schema in {}: {}. Proxying goes on; quotas follow on_unavailable until the database"
          + " is back, and the schema is retried in the background.", database, e.toString());
      Thread retry = new Thread(() -> retrySchema(database), "tollgate-schema-retry");
      retry.setDaemon(true);
      retry.start();
    }
  }

  private static void retrySchema(Database database) {
    long pause = 1000;
    while (true) {
      try {
        Thread.sleep(pause);
        DatabaseSchema.create(database);
        log.info("Schema created in {}; durable state is available", database);
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (java.sql.SQLException | RuntimeException e) {
        pause = Math.min(pause * 2, 30_000);
        log.warn("Database {} still unavailable: {}", database, e.toString());
      }
    }
  }

  /**
   * The actor system's config: node settings mapped onto Pekko (proxy limits, cluster membership),
   * over the user's, over our defaults.
   */
  static Config pekkoConfig(NodeSettings settings, Config overrides, Database database) {
    NodeSettings.Proxy p = settings.proxy();
    NodeSettings.Management m = settings.management();
    Map<String, Object> values = new java.util.HashMap<>(Map.of(
        "pekko.http.server.parsing.max-uri-length", p.maxUriLength(),
        "pekko.http.server.parsing.max-header-value-length", p.maxHeaderBytes(),
        "pekko.http.server.idle-timeout", p.idleTimeout().toMillis() + "ms",
        "pekko.cluster.sharding.passivation.default-idle-strategy.idle-entity.timeout",
        settings.quota().passivateAfter().toMillis() + "ms",
        "pekko.management.http.hostname", m.host(),
        "pekko.management.http.port", m.port() == 0 ? freePort(m.host()) : m.port(),
        "pekko.management.http.routes.health-checks", "",
        "pekko.management.http.routes.tollgate", HealthRoutes.class.getName()));
    // The phases that wait hold a little longer than their waits, so that Pekko does not cut them short.
    values.put("pekko.coordinated-shutdown.phases.before-service-unbind.timeout",
        m.readyDelay().plusSeconds(5).toMillis() + "ms");
    values.put("pekko.coordinated-shutdown.phases.service-requests-done.timeout",
        settings.shutdownGrace().plusSeconds(10).toMillis() + "ms");
    Config derived = ConfigFactory.parseMap(values)
        .withFallback(ClusterMembership.pekkoConfig(settings.cluster()))
        .withFallback(database.pekkoConfig(settings.storage().maxConnections()));
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

  /** The node's side of the quotas: its decisions and leases. */
  public LeasedQuotaClient quota() {
    return quota;
  }

  /** Applies a new declarative config; requests in flight finish on the old one. */
  public void apply(GatewayConfig config) {
    proxy.apply(config, proxy.currentVersion() + 1);
  }

  /**
   * Stops the node gracefully through Pekko's coordinated shutdown, which SIGTERM also runs, in
   * order: {@code /ready} turns 503, responses carry {@code Connection: close}, the node's shards
   * start handing off to the other members ({@link dev.tollgate.cluster.ShardRoute}), and the node
   * waits {@code tollgate.shutdown.ready-delay} for balancers to notice; it stops accepting (the
   * proxy and the admin API); requests in flight finish within the grace period and the quota
   * leases' unused tokens go back; then the node leaves the cluster, and the actor system stops.
   *
   * @return completes when the node has stopped; true if nothing was cut off
   */
  public CompletionStage<Boolean> shutdown() {
    return shutdown(settings.shutdownGrace());
  }

  /** As {@link #shutdown()}, with a grace period of its own. */
  public CompletionStage<Boolean> shutdown(Duration grace) {
    this.grace = grace;
    return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason()).thenApply(done -> clean);
  }

  /** The node's steps of the coordinated shutdown, in the phases Pekko runs in order. */
  private void addShutdownTasks() {
    this.grace = settings.shutdownGrace();
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    Duration readyDelay = settings.management().readyDelay();
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "tollgate-not-ready", () -> {
      NodeLifecycle.get(system).stopping();
      proxy.startDraining();
      log.info("Stopping: /ready answers 503, responses close their connections; accepting for {} ms more so that"
          + " balancers take this node out", readyDelay.toMillis());
      CompletableFuture<org.apache.pekko.Done> waited = new CompletableFuture<>();
      system.scheduler().scheduleOnce(readyDelay, () -> waited.complete(org.apache.pekko.Done.getInstance()),
          system.executionContext());
      return waited;
    });
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "tollgate-stop-accepting", () -> {
      log.info("Stopping: no new connections; waiting up to {} ms for {} requests in flight", grace.toMillis(),
          proxy.inFlight());
      CompletionStage<Void> adminStopped = admin.map(AdminServer::stop)
          .orElse(CompletableFuture.completedFuture(null))
          .exceptionally(e -> {
            log.warn("The admin API did not stop cleanly: {}", e.toString());
            return null;
          });
      return adminStopped.thenCompose(stopped -> proxy.stopAccepting()).thenApply(done -> org.apache.pekko.Done.getInstance());
    });
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "tollgate-drain", () -> proxy.drained(grace)
        // Unused tokens go back to their entities, so the nodes that stay can spend them.
        .thenCompose(drained -> {
          clean = drained;
          return quota.releaseAll().toCompletableFuture().completeOnTimeout(null, 3, java.util.concurrent.TimeUnit.SECONDS);
        })
        .thenApply(released -> org.apache.pekko.Done.getInstance()));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "tollgate-close", () -> {
      LeasedQuotaClient.Stats stats = quota.stats();
      log.info("Quota decisions on this node: {}, of which {} waited for an entity and {} used the local share",
          stats.decisions(), stats.remote(), stats.localShare());
      quota.close();
      directory.ifPresent(CredentialDirectory::close);
      sampler.ifPresent(StateSampler::close);
      metricsServer.ifPresent(MetricsServer::stop);
      // Then Pekko's own phases: shards hand off, the node leaves the cluster, the system stops.
      return CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
    });
  }

  /** Where {@code /alive} and {@code /ready} are served. */
  public InetSocketAddress managementAddress() {
    return managementAddress;
  }
}
