package dev.tollgate.node.proxy;

import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.Target;
import dev.tollgate.config.Timeouts;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.javadsl.ConnectHttp;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import scala.util.Try;

/**
 * The connections of this node to one upstream target: a Pekko HTTP host connection pool,
 * materialized once and fed through a bounded queue. Sending costs a synchronous queue offer, with
 * no pool lookup or actor hand-off per request. The pool never retries on its own: retries are the
 * proxy's decision, so that they go to another target.
 */
final class TargetPool implements AutoCloseable {

  /** The queue of this target is full: too many requests wait for a connection. */
  static final class QueueFullException extends RuntimeException {
    QueueFullException(String target) {
      super("request queue of " + target + " is full", null, false, false);
    }
  }

  private final Target target;
  private final Materializer materializer;
  private final BoundedSourceQueue<Pair<HttpRequest, CompletableFuture<HttpResponse>>> queue;

  TargetPool(ActorSystem<?> system, Target target, Timeouts timeouts, NodeSettings.UpstreamPool settings) {
    this.target = target;
    this.materializer = Materializer.matFromSystem(system);
    ClientConnectionSettings connection = ClientConnectionSettings.create(system.classicSystem())
        .withConnectingTimeout(timeouts.connect())
        .withIdleTimeout(timeouts.idle());
    ConnectionPoolSettings pool = ConnectionPoolSettings.create(system.classicSystem())
        .withMaxConnections(settings.maxConnections())
        .withMaxOpenRequests(Integer.highestOneBit(Math.max(settings.queueSize(), 1)) << 1)
        .withMaxRetries(0)
        .withPipeliningLimit(1)
        .withConnectionSettings(connection);
    ConnectHttp connect = target.scheme().equals("https")
        ? ConnectHttp.toHostHttps(target.host(), target.port())
        : ConnectHttp.toHost(target.host(), target.port());
    this.queue = Source.<Pair<HttpRequest, CompletableFuture<HttpResponse>>>queue(settings.queueSize())
        .via(Http.get(system.classicSystem()).<CompletableFuture<HttpResponse>>newHostConnectionPool(
            connect, pool, Logging.getLogger(system.classicSystem(), TargetPool.class), materializer))
        .to(Sink.foreach(this::deliver))
        .run(materializer);
  }

  private void deliver(Pair<Try<HttpResponse>, CompletableFuture<HttpResponse>> result) {
    Try<HttpResponse> outcome = result.first();
    CompletableFuture<HttpResponse> promise = result.second();
    if (outcome.isSuccess()) {
      HttpResponse response = outcome.get();
      if (!promise.complete(response)) {
        // The proxy gave up (timeout); the connection must still be freed.
        response.entity().getDataBytes().runWith(Sink.ignore(), materializer);
      }
    } else {
      promise.completeExceptionally(outcome.failed().get());
    }
  }

  /** Sends a request; the future fails with {@link QueueFullException} when the queue is full. */
  CompletableFuture<HttpResponse> send(HttpRequest request) {
    CompletableFuture<HttpResponse> promise = new CompletableFuture<>();
    QueueOfferResult result = queue.offer(Pair.create(request, promise));
    if (result != QueueOfferResult.enqueued()) {
      promise.completeExceptionally(result instanceof QueueOfferResult.Failure f
          ? f.cause()
          : new QueueFullException(target.authority()));
    }
    return promise;
  }

  Target target() {
    return target;
  }

  @Override
  public void close() {
    queue.complete();
  }
}
