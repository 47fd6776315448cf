package dev.tollgate.node.admin;

import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.quota.QuotaUsage;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.NodeSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API listener of a node ({@code tollgate.admin.*}): consumers and API keys of the
 * cluster's directory, the cluster's config, the cluster itself and consumers' usage, over HTTP.
 * Requests carry {@code Authorization: Bearer <token>} with one of the tokens when tokens are set;
 * {@link NodeSettings.Admin} allows none only on loopback. A plain Pekko HTTP binding
 * is enough here: unlike the proxy, the admin API needs no connection-level stages.
 */
public final class AdminServer {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  /** How long requests in flight get to finish when the node stops. */
  private static final Duration STOP_DEADLINE = Duration.ofSeconds(3);

  private final ServerBinding binding;

  private AdminServer(ServerBinding binding) {
    this.binding = binding;
  }

  /**
   * Binds the admin API.
   *
   * @param config the node's current declarative config, asked on every request (it changes)
   * @param directory the node's directory; empty if it did not start (changes then get 503)
   * @param requestIdHeader the header that carries each answer's request id
   * @param store the cluster's config store, when this node serves its config; empty otherwise (the
   *     config endpoints then answer 503)
   * @param quota reads the consumers' quota entities for their usage
   * @param upstreams the proxy's upstreams and their guards, for {@code /upstreams}
   */
  public static CompletionStage<AdminServer> start(ActorSystem<?> system, NodeSettings.Admin settings,
      String requestIdHeader, Supplier<GatewayConfig> config, Optional<CredentialDirectory> directory,
      Optional<org.apache.pekko.actor.typed.ActorRef<dev.tollgate.cluster.config.ConfigStore.Command>> store,
      QuotaUsage quota, Optional<UpstreamsView> upstreams) {
    Objects.requireNonNull(settings, "settings");
    Optional<AdminTokens> tokens = settings.requiresToken() ? Optional.of(new AdminTokens(settings.namedTokens()))
        : Optional.empty();
    AdminApi api = new AdminApi(tokens, config, directory, store, system.scheduler(),
        system.dispatchers().lookup(DispatcherSelector.blocking()), Materializer.matFromSystem(system), requestIdHeader,
        Optional.of(new AdminApi.ClusterAccess(system, quota, settings.clusterTimeout())), upstreams);
    return Http.get(system).newServerAt(settings.host(), settings.port())
        .bind((org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>>) api::handle)
        .thenApply(b -> {
          log.info("Admin API listening on {} ({})", b.localAddress(), tokens.isPresent()
              ? "bearer token required: " + String.join(", ", settings.namedTokens().keySet()) : "no token: loopback only");
          return new AdminServer(b);
        });
  }

  public InetSocketAddress address() {
    return binding.localAddress();
  }

  /** Stops accepting, lets requests in flight finish for a few seconds, then closes every connection. */
  public CompletionStage<Void> stop() {
    return binding.terminate(STOP_DEADLINE).thenApply(terminated -> null);
  }
}
