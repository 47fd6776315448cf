package dev.tollgate.node.proxy;

import dev.tollgate.cluster.quota.QuotaClient;
import dev.tollgate.cluster.upstream.TargetBoard;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.node.identity.ApiKeyDirectory;
import dev.tollgate.config.NodeSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.TLSProtocol;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy listener. Binds TCP itself and joins each connection with Pekko's HTTP server layer,
 * so that connection-level stages (the head read timeout now; PROXY protocol and TLS later) sit
 * below HTTP. Owns the current {@link CompiledConfig} and swaps it atomically.
 */
public final class ProxyServer {

  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  private final ActorSystem<?> system;
  private final NodeSettings settings;
  private final TargetPools pools;
  private final AtomicReference<CompiledConfig> config = new AtomicReference<>();
  private final ProxyHandler handler;
  private final dev.tollgate.node.accesslog.AccessLog accessLog;
  private final ApiKeyDirectory directory;
  private final TargetBoard board;
  private final SharedKillSwitch connections = KillSwitches.shared("proxy-connections");
  /** One stage for every connection: a GraphStage makes fresh state each time it is materialized. */
  private final HeadReadTimeout headReadTimeout;
  private volatile Tcp.ServerBinding binding;

  /**
   * @param directory API keys held outside the config file (the cluster's directory), asked after
   *     the file's own; {@link ApiKeyDirectory#NONE} for none
   */
  public ProxyServer(ActorSystem<?> system, NodeSettings settings, GatewayConfig initial, QuotaClient quota,
      ApiKeyDirectory directory, TargetBoard board) {
    this.system = system;
    this.settings = settings;
    this.directory = directory;
    this.board = board;
    this.pools = new TargetPools(system, settings.upstreamPool());
    this.config.set(CompiledConfig.compile(initial, 0, settings, pools, directory, board));
    this.accessLog = dev.tollgate.node.accesslog.AccessLog.start(settings.accessLog());
    this.handler = new ProxyHandler(system, config::get, settings.proxy(), quota, accessLog);
    this.headReadTimeout = new HeadReadTimeout(settings.proxy().headerReadTimeout());
  }

  /**
   * Swaps in config version {@code version}; requests in flight finish on the old one.
   *
   * @param version the cluster store's number for it, 0 for a config given whole
   */
  public void apply(GatewayConfig next, long version) {
    CompiledConfig old = config.getAndSet(CompiledConfig.compile(next, version, settings, pools, directory, board));
    old.close();
  }

  /** This node's side of the upstream guards: each target's health and breaker as this node sees them. */
  public TargetBoard targets() {
    return board;
  }

  /**
   * Each upstream's targets in the config version in service, in the config's order: their
   * requests in flight, this node's passive ejection and their guard's verdict.
   */
  public java.util.Map<String, List<dev.tollgate.node.upstream.UpstreamTarget>> upstreamTargets() {
    return config.get().targets();
  }

  /** The number of the config version in service (0 for the config the node started with). */
  public long currentVersion() {
    return config.get().version();
  }

  public GatewayConfig currentConfig() {
    return config.get().source();
  }

  /** Starts listening; completes with the bound address. */
  public CompletionStage<InetSocketAddress> start() {
    NodeSettings.Proxy proxy = settings.proxy();
    ServerSettings serverSettings = ServerSettings.create(system.classicSystem());
    Materializer mat = Materializer.matFromSystem(system);
    var log = Logging.getLogger(system.classicSystem(), ProxyServer.class);
    return Tcp.get(system).bind(proxy.host(), proxy.port(), serverSettings.getBacklog(), List.of(), false,
            Optional.of(proxy.idleTimeout()))
        .to(Sink.foreach(connection -> {
          InetSocketAddress remote = connection.remoteAddress();
          ConnectionInfo info = new ConnectionInfo(remote, remote.getAddress().getHostAddress(),
              handler.forwardedHeaders().isTrusted(remote.getAddress()), connection.localAddress().getPort(), "http");
          connection.handleWith(connectionFlow(serverSettings, info, log), mat);
        }))
        .run(mat)
        .thenApply(b -> {
          binding = b;
          ProxyServer.log.info("Proxy listening on {}", b.localAddress());
          return b.localAddress();
        });
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Flow<ByteString, ByteString, NotUsed> connectionFlow(ServerSettings serverSettings, ConnectionInfo info,
      org.apache.pekko.event.LoggingAdapter log) {
    BidiFlow<HttpResponse, TLSProtocol.SslTlsOutbound, TLSProtocol.SslTlsInbound, HttpRequest, NotUsed> http =
        Http.get(system.classicSystem()).serverLayer(serverSettings, Optional.of(info.remote()), log);
    BidiFlow placebo = TLSPlacebo.getInstance();
    BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> stack =
        http.atop(placebo).atop(BidiFlow.fromGraph(headReadTimeout));
    Flow<HttpRequest, HttpResponse, NotUsed> requests = handler.flow(info);
    return Flow.<ByteString>create().via(connections.flow()).via(stack.reversed().join(requests));
  }

  /**
   * Drains the node: stops accepting, marks responses {@code Connection: close}, waits for requests
   * in flight up to {@code grace}, then closes the remaining connections.
   *
   * @return completes when drained; true if every request finished within the grace period
   */
  public CompletionStage<Boolean> drain(Duration grace) {
    Tcp.ServerBinding b = binding;
    CompletionStage<?> unbound = b == null ? CompletableFuture.completedFuture(null) : b.unbind();
    handler.startDraining();
    CompletableFuture<Boolean> drained = new CompletableFuture<>();
    long deadline = System.nanoTime() + grace.toNanos();
    unbound.whenComplete((ok, e) -> awaitIdle(drained, deadline));
    return drained.thenCompose(clean -> {
      connections.shutdown();
      accessLog.close();
      config.get().close();
      pools.close();
      return Http.get(system.classicSystem()).shutdownAllConnectionPools().thenApply(done -> clean);
    });
  }

  private void awaitIdle(CompletableFuture<Boolean> drained, long deadlineNanos) {
    int inFlight = handler.inFlight();
    if (inFlight == 0) {
      drained.complete(true);
    } else if (System.nanoTime() - deadlineNanos >= 0) {
      log.warn("Grace period over with {} requests still in flight; closing their connections", inFlight);
      drained.complete(false);
    } else {
      system.scheduler().scheduleOnce(Duration.ofMillis(20), () -> awaitIdle(drained, deadlineNanos), system.executionContext());
    }
  }

  /** Requests accepted and not yet answered in full. */
  public int inFlight() {
    return handler.inFlight();
  }

  /** Access log lines dropped because its writer fell behind, since the start. */
  public long accessLogDrops() {
    return accessLog.dropped();
  }
}
