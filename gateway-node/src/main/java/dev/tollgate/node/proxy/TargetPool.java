package dev.tollgate.node.proxy;

import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.Target;
import dev.tollgate.config.Timeouts;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.http.scaladsl.Http;
import org.apache.pekko.http.scaladsl.HttpExt;
import scala.Tuple2;
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
  private final BoundedSourceQueue<Tuple2<org.apache.pekko.http.scaladsl.model.HttpRequest, CompletableFuture<HttpResponse>>> queue;

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
    // The Scala API: Java's newHostConnectionPool(ConnectHttp, ...) always uses the HTTPS context.
    HttpExt http = (HttpExt) Http.get(system.classicSystem());
    var log = Logging.getLogger(system.classicSystem(), TargetPool.class);
    var scalaPool = (org.apache.pekko.http.scaladsl.settings.ConnectionPoolSettings) pool;
    org.apache.pekko.stream.scaladsl.Flow<
            Tuple2<org.apache.pekko.http.scaladsl.model.HttpRequest, CompletableFuture<HttpResponse>>,
            Tuple2<Try<org.apache.pekko.http.scaladsl.model.HttpResponse>, CompletableFuture<HttpResponse>>,
            ?> flow = target.scheme().equals("https")
        ? http.newHostConnectionPoolHttps(target.host(), target.port(), http.defaultClientHttpsContext(), scalaPool, log, materializer)
        : http.newHostConnectionPool(target.host(), target.port(), scalaPool, log, materializer);
    this.queue = Source.<Tuple2<org.apache.pekko.http.scaladsl.model.HttpRequest, CompletableFuture<HttpResponse>>>queue(
            settings.queueSize())
        .via(flow)
        .to(Sink.foreach(this::deliver))
        .run(materializer);
  }

  private void deliver(
      Tuple2<Try<org.apache.pekko.http.scaladsl.model.HttpResponse>, CompletableFuture<HttpResponse>> result) {
    Try<org.apache.pekko.http.scaladsl.model.HttpResponse> outcome = result._1();
    CompletableFuture<HttpResponse> promise = result._2();
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
    QueueOfferResult result = queue.offer(Tuple2.apply((org.apache.pekko.http.scaladsl.model.HttpRequest) request, promise));
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
