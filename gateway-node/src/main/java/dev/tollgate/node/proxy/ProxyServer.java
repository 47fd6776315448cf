package dev.tollgate.node.proxy;

import dev.tollgate.cluster.quota.QuotaClient;
import dev.tollgate.cluster.upstream.TargetBoard;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.node.identity.ApiKeyDirectory;
import dev.tollgate.node.metrics.Metrics;
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
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy listener. Binds TCP itself and joins each connection with Pekko's HTTP server layer,
 * so that connection-level stages (the PROXY protocol decoder when enabled, the head read timeout;
 * TLS later) sit below HTTP. Owns the current {@link CompiledConfig} and swaps it atomically.
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
  private final Metrics metrics;
  private final SharedKillSwitch connections = KillSwitches.shared("proxy-connections");
  /** One stage for every connection: a GraphStage makes fresh state each time it is materialized. */
  private final HeadReadTimeout headReadTimeout;
  private final PeerWarnings proxyProtocolWarnings = new PeerWarnings(log, Duration.ofMinutes(1), System::nanoTime);
  private volatile Tcp.ServerBinding binding;

  /**
   * @param directory API keys held outside the config file (the cluster's directory), asked after
   *     the file's own; {@link ApiKeyDirectory#NONE} for none
   * @param metrics the node's instruments; {@link Metrics#OFF} records nothing
   */
  public ProxyServer(ActorSystem<?> system, NodeSettings settings, GatewayConfig initial, QuotaClient quota,
      ApiKeyDirectory directory, TargetBoard board, Metrics metrics) {
    this.system = system;
    this.metrics = metrics;
    this.settings = settings;
    this.directory = directory;
    this.board = board;
    this.pools = new TargetPools(system, settings.upstreamPool());
    this.config.set(CompiledConfig.compile(initial, 0, settings, pools, directory, board, metrics));
    this.accessLog = dev.tollgate.node.accesslog.AccessLog.start(settings.accessLog());
    this.handler = new ProxyHandler(system, config::get, settings.proxy(), quota, accessLog, metrics);
    this.headReadTimeout = new HeadReadTimeout(settings.proxy().headerReadTimeout());
  }

  /**
   * Swaps in config version {@code version}; requests in flight finish on the old one.
   *
   * @param version the cluster store's number for it, 0 for a config given whole
   */
  public void apply(GatewayConfig next, long version) {
    CompiledConfig old = config.getAndSet(CompiledConfig.compile(next, version, settings, pools, directory, board, metrics));
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
          int localPort = connection.localAddress().getPort();
          connection.handleWith(proxy.proxyProtocol().enabled()
              ? proxyProtocolFlow(serverSettings, remote, localPort, log)
              : connectionFlow(serverSettings, connectionInfo(remote, localPort), log), mat);
        }))
        .run(mat)
        .thenApply(b -> {
          binding = b;
          ProxyServer.log.info("Proxy listening on {}", b.localAddress());
          return b.localAddress();
        });
  }

  /** The connection from {@code client}: the TCP peer's address, or the one its PROXY header gave. */
  private ConnectionInfo connectionInfo(InetSocketAddress client, int localPort) {
    return new ConnectionInfo(client, client.getAddress().getHostAddress(),
        handler.forwardedHeaders().isTrusted(client.getAddress()), localPort, "http");
  }

  private Flow<ByteString, ByteString, NotUsed> connectionFlow(ServerSettings serverSettings, ConnectionInfo info,
      org.apache.pekko.event.LoggingAdapter log) {
    return Flow.<ByteString>create().via(connections.flow()).via(httpFlow(serverSettings, info, log));
  }

  /**
   * A connection that must start with a PROXY protocol header. A peer outside {@code
   * tollgate.proxy.proxy-protocol.trusted} is refused: its flow cancels the input before reading
   * and completes the output, so the connection closes at once.
   *
   * <p>Otherwise {@link ProxyProtocolDecoder} reads the header and completes a per-connection
   * future with its addresses, and the HTTP layer behind it is made by {@link
   * Flow#lazyCompletionStageFlow} (Pekko's Java name for lazyFutureFlow): it is materialized when the first byte after the header arrives, from
   * that future (already complete by then), so its {@link ConnectionInfo} (the client address for
   * {@code X-Forwarded-For}, limits, logs, the trust in its forwarding headers) is the header's
   * source. This keeps {@link ConnectionInfo} a value fixed for the connection, as without the
   * PROXY protocol, and the HTTP layer untouched. The alternatives were worse: building the HTTP
   * flow first would need a mutable connection holder read on every request, and prefixAndTail
   * would split the stream into a sub-source for the rest of the connection's bytes anyway. After
   * the header, each chunk costs a push through the decoder and the lazy flow's connection to its
   * inner flow, both in the same fused actor; nothing is parsed or copied. If the connection ends
   * without a valid header, the decoder completes without emitting, the lazy flow never builds the
   * HTTP layer, and the connection closes without an answer.
   */
  private Flow<ByteString, ByteString, NotUsed> proxyProtocolFlow(ServerSettings serverSettings, InetSocketAddress peer,
      int localPort, org.apache.pekko.event.LoggingAdapter log) {
    NodeSettings.ProxyProtocol pp = settings.proxy().proxyProtocol();
    if (!pp.isTrusted(peer.getAddress())) {
      proxyProtocolWarnings.warn(peer.getAddress(),
          "Refused a connection from {}: not in tollgate.proxy.proxy-protocol.trusted");
      return Flow.fromSinkAndSource(Sink.cancelled(), Source.empty());
    }
    CompletableFuture<ProxyProtocolHeader.Decoded> header = new CompletableFuture<>();
    return Flow.<ByteString>create()
        .via(connections.flow())
        .via(new ProxyProtocolDecoder(header, pp.headerTimeout(), peer, proxyProtocolWarnings))
        .via(Flow.lazyCompletionStageFlow(() -> header.thenApply(
            decoded -> httpFlow(serverSettings, connectionInfo(decoded.sourceOr(peer), localPort), log))))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Flow<ByteString, ByteString, NotUsed> httpFlow(ServerSettings serverSettings, ConnectionInfo info,
      org.apache.pekko.event.LoggingAdapter log) {
    BidiFlow<HttpResponse, TLSProtocol.SslTlsOutbound, TLSProtocol.SslTlsInbound, HttpRequest, NotUsed> http =
        Http.get(system.classicSystem()).serverLayer(serverSettings, Optional.of(info.remote()), log);
    BidiFlow placebo = TLSPlacebo.getInstance();
    BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> stack =
        http.atop(placebo).atop(BidiFlow.fromGraph(headReadTimeout));
    Flow<HttpRequest, HttpResponse, NotUsed> requests = handler.flow(info);
    return stack.reversed().join(requests);
  }

  /**
   * From now on every response carries {@code Connection: close}, so that keep-alive clients (and
   * an L4 balancer's pinned connections) move to other nodes one answer at a time while this node
   * still serves, rather than meeting a closed idle connection once it stops.
   */
  public void startDraining() {
    handler.startDraining();
  }

  /**
   * Stops accepting: the listener unbinds, and responses from now on carry {@code Connection:
   * close} (if {@link #startDraining} has not made them so already). Connections already open stay
   * until {@link #drained}.
   */
  public CompletionStage<Void> stopAccepting() {
    Tcp.ServerBinding b = binding;
    handler.startDraining();
    return b == null ? CompletableFuture.completedFuture(null) : b.unbind().thenApply(done -> null);
  }

  /**
   * Waits for the requests in flight, up to {@code grace}, then closes the remaining connections
   * and the upstream pools.
   *
   * @return true if every request finished within the grace period
   */
  public CompletionStage<Boolean> drained(Duration grace) {
    CompletableFuture<Boolean> drained = new CompletableFuture<>();
    awaitIdle(drained, System.nanoTime() + grace.toNanos());
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
