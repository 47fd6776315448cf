package dev.tollgate.node.metrics;

import dev.tollgate.config.NodeSettings;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * {@code GET /metrics} on {@code tollgate.metrics.host:port}: the Prometheus text of the last
 * snapshot. Everything else is 404, and other methods on {@code /metrics} 405.
 */
public final class MetricsServer {

  private final ServerBinding binding;

  private MetricsServer(ServerBinding binding) {
    this.binding = binding;
  }

  public static CompletionStage<MetricsServer> start(ActorSystem<?> system, NodeSettings.Metrics settings, Metrics metrics) {
    return Http.get(system).newServerAt(settings.host(), settings.port())
        .bindSync(request -> answer(request, metrics))
        .thenApply(MetricsServer::new);
  }

  static HttpResponse answer(HttpRequest request, Metrics metrics) {
    if (!request.getUri().path().equals("/metrics")) {
      return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND)
          .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "Not found: metrics are at /metrics\n");
    }
    if (!request.method().equals(HttpMethods.GET) && !request.method().equals(HttpMethods.HEAD)) {
      return HttpResponse.create().withStatus(StatusCodes.METHOD_NOT_ALLOWED)
          .addHeader(RawHeader.create("Allow", "GET, HEAD"))
          .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "Only GET and HEAD\n");
    }
    return HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape());
  }

  public InetSocketAddress address() {
    return binding.localAddress();
  }

  public CompletionStage<Void> stop() {
    return binding.unbind().thenApply(done -> null);
  }
}
