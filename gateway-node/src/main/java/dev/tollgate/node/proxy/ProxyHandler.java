package dev.tollgate.node.proxy;

import dev.tollgate.cluster.quota.QuotaClient;
import dev.tollgate.cluster.quota.QuotaScope;
import dev.tollgate.cluster.quota.Verdict;
import dev.tollgate.node.metrics.Metrics;
import dev.tollgate.node.metrics.UpstreamMeter;
import dev.tollgate.config.HostHeader;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.RetryPolicy;
import dev.tollgate.node.accesslog.AccessLog;
import dev.tollgate.node.accesslog.AccessRecord;
import dev.tollgate.node.identity.Caller;
import dev.tollgate.node.identity.RouteGuard;
import dev.tollgate.node.quota.RateLimitHeaders;
import dev.tollgate.node.route.RequestView;
import dev.tollgate.node.route.RouteTable;
import dev.tollgate.node.upstream.HashInput;
import dev.tollgate.cluster.upstream.TargetHealth;
import dev.tollgate.node.upstream.UpstreamTarget;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpProtocols;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.StreamTcpException;
import org.apache.pekko.stream.javadsl.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * Forwards one request: route, limits, headers, balancing, retries and timeouts. One instance per
 * node; the per-request state lives in an {@link Exchange}.
 */
final class ProxyHandler {

  private static final Logger log = LoggerFactory.getLogger(ProxyHandler.class);
  private static final TimeoutException RESPONSE_TIMEOUT = new TimeoutException("response timeout");
  /** Bodies up to this size are read whole before forwarding when a retry may need to resend them. */
  static final long RETRY_BUFFER_BYTES = 64 * 1024;

  private final ActorSystem<?> system;
  private final ExecutionContextExecutor dispatcher;
  private final org.apache.pekko.stream.Materializer materializer;
  private final Supplier<CompiledConfig> config;
  private final NodeSettings.Proxy settings;
  private final ForwardedHeaders forwarded;
  private final String requestIdHeader;
  private final String requestIdHeaderLower;
  private final QuotaClient quota;
  private final AccessLog accessLog;
  private final Metrics metrics;
  /** Whether bodies are counted as they pass: for the access log or the metrics. */
  private final boolean countBytes;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean draining;

  ProxyHandler(ActorSystem<?> system, Supplier<CompiledConfig> config, NodeSettings.Proxy settings, QuotaClient quota,
      AccessLog accessLog, Metrics metrics) {
    this.system = system;
    this.quota = quota;
    this.accessLog = accessLog;
    this.metrics = metrics;
    this.countBytes = accessLog.enabled() || metrics.enabled();
    this.dispatcher = system.executionContext();
    this.materializer = org.apache.pekko.stream.Materializer.matFromSystem(system);
    this.config = config;
    this.settings = settings;
    this.forwarded = new ForwardedHeaders(settings.trustedProxies());
    this.requestIdHeader = settings.requestIdHeader();
    this.requestIdHeaderLower = requestIdHeader.toLowerCase(Locale.ROOT);
  }

  ForwardedHeaders forwardedHeaders() {
    return forwarded;
  }

  /** Requests accepted and not yet answered in full. */
  int inFlight() {
    return inFlight.get();
  }

  /** From now on every response closes its connection, so clients move to other nodes. */
  void startDraining() {
    draining = true;
  }

  /** The handler of one client connection. */
  Flow<HttpRequest, HttpResponse, NotUsed> flow(ConnectionInfo connection) {
    return Flow.of(HttpRequest.class).mapAsync(1, request -> handle(request, connection));
  }

  CompletionStage<HttpResponse> handle(HttpRequest request, ConnectionInfo connection) {
    inFlight.incrementAndGet();
    Exchange ex;
    try {
      ex = new Exchange(request, connection);
    } catch (RuntimeException e) {
      inFlight.decrementAndGet();
      throw e;
    }
    CompletionStage<HttpResponse> response;
    try {
      response = route(ex);
    } catch (RuntimeException e) {
      log.error("Request {} failed inside the gateway", ex.requestId, e);
      response = CompletableFuture.completedFuture(ex.problem(new Problem(
          org.apache.pekko.http.javadsl.model.StatusCodes.INTERNAL_SERVER_ERROR, "internal-error",
          "Internal gateway error", "The gateway failed to handle this request.")));
    }
    return response.thenApply(r -> finish(ex, r));
  }

  /**
   * Counts the request done, and logs it, when its response body has been sent or has failed (at
   * once for strict bodies). A streamed body is watched as it passes, never buffered.
   */
  private HttpResponse finish(Exchange ex, HttpResponse response) {
    HttpResponse out = draining ? response.addHeader(org.apache.pekko.http.javadsl.model.headers.Connection.create("close")) : response;
    ResponseEntity entity = out.entity();
    int status = out.status().intValue();
    if (entity.isKnownEmpty() || entity instanceof HttpEntity.Strict) {
      // Logged before it counts as done, so that a drain that waits for it finds its line queued.
      ex.bytesOut = entity instanceof HttpEntity.Strict strict ? strict.getData().size() : 0;
      recordDone(ex, status);
      inFlight.decrementAndGet();
      return out;
    }
    Flow<org.apache.pekko.util.ByteString, org.apache.pekko.util.ByteString, NotUsed> counted = countBytes
        ? Flow.<org.apache.pekko.util.ByteString>create().map(b -> {
          ex.bytesOut += b.size();
          return b;
        })
        : Flow.create();
    Flow<org.apache.pekko.util.ByteString, org.apache.pekko.util.ByteString, Object> watched =
        counted.watchTermination((mat, done) -> {
          done.whenComplete((d, e) -> {
            recordDone(ex, status);
            inFlight.decrementAndGet();
          });
          return (Object) mat;
        });
    if (entity instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.Default sized) {
      // Keeps the Content-Length: the one-argument transformDataBytes would turn the body chunked.
      return out.withEntity((ResponseEntity) sized.transformDataBytes(sized.contentLength(), watched.asScala()));
    }
    return out.withEntity(((org.apache.pekko.http.scaladsl.model.ResponseEntity) entity).transformDataBytes(watched.asScala()));
  }

  /** The request's access log line and its route's figures, once its response is sent. */
  private void recordDone(Exchange ex, int status) {
    if (accessLog.enabled()) {
      accessLog.log(ex.record(status));
    }
    (ex.route == null ? metrics.unmatched() : ex.route.meter)
        .record(status, System.nanoTime() - ex.startNanos, ex.bytesIn, ex.bytesOut);
  }

  private CompletionStage<HttpResponse> route(Exchange ex) {
    if (ex.headerBytes > settings.maxHeaderBytes()) {
      return done(ex.problem(Problem.headersTooLarge(settings.maxHeaderBytes())));
    }
    CompiledConfig current = config.get();
    RouteTable.Entry<CompiledRoute> entry = current.routes().match(ex);
    if (entry == null) {
      return done(ex.problem(Problem.noRoute(ex.method, ex.path)));
    }
    CompiledRoute route = entry.target();
    ex.route = route;
    RequestEntity entity = ex.request.entity();
    java.util.OptionalLong length = entity.getContentLengthOption();
    if (length.isPresent() && length.getAsLong() > route.maxBodyBytes) {
      return done(ex.problem(Problem.bodyTooLarge(route.maxBodyBytes)));
    }
    RouteGuard.Outcome door = route.guard.check(ex);
    if (door instanceof RouteGuard.Pending pending) {
      return pending.outcome().thenCompose(outcome -> afterGuard(ex, current, entry, entity, length, outcome));
    }
    return afterGuard(ex, current, entry, entity, length, door);
  }

  private CompletionStage<HttpResponse> afterGuard(Exchange ex, CompiledConfig current, RouteTable.Entry<CompiledRoute> entry,
      RequestEntity entity, java.util.OptionalLong length, RouteGuard.Outcome door) {
    CompiledRoute route = entry.target();
    if (door instanceof RouteGuard.Refuse refuse) {
      HttpResponse answer = ex.problem(switch (refuse.status()) {
        case 401 -> Problem.unauthorized(refuse.detail());
        case 403 -> Problem.forbidden(refuse.detail());
        default -> Problem.directoryUnavailable(refuse.detail());
      });
      if (refuse.status() == 503) {
        answer = answer.addHeader(RawHeader.create("Retry-After", "1"));
      }
      for (String challenge : refuse.challenges()) {
        answer = answer.addHeader(RawHeader.create("WWW-Authenticate", challenge));
      }
      return done(answer);
    }
    RouteGuard.Pass pass = (RouteGuard.Pass) door;
    Caller caller = pass.caller();
    // Upstreams learn who called from these headers only as the gateway sets them, never as a client did.
    ex.forwardHeaders.removeIf(h -> current.isConsumerHeader(h.lowercaseName()) || pass.dropHeaders().contains(h.lowercaseName()));
    if (caller instanceof Caller.Consumer consumer) {
      ex.consumerId = consumer.id();
      ex.forwardHeaders.add(RawHeader.create(current.source().consumerHeaders().id(), consumer.id()));
      if (!consumer.groups().isEmpty()) {
        ex.forwardHeaders.add(RawHeader.create(current.source().consumerHeaders().groups(), String.join(",", consumer.groups())));
      }
      ex.dropQueryParameter = pass.dropQueryParameter().orElse(null);
    }
    List<QuotaScope> scopes = current.quotas().scopes(caller, route.route.name(), ex.clientIp());
    if (scopes.isEmpty()) {
      return forward(ex, entry, entity, length);
    }
    CompletableFuture<Verdict> verdict = quota.admit(scopes).toCompletableFuture();
    if (verdict.isDone() && !verdict.isCompletedExceptionally()) {
      return afterQuota(ex, entry, entity, length, verdict.join(), current.legacyRateLimitHeaders());
    }
    return verdict.handle((v, failure) -> {
      if (failure != null) {
        log.error("Request {}: the quota decision failed", ex.requestId, failure);
        return done(ex.problem(Problem.quotaUnavailable()).addHeader(RawHeader.create("Retry-After", "1")));
      }
      return afterQuota(ex, entry, entity, length, v, current.legacyRateLimitHeaders());
    }).thenCompose(r -> r);
  }

  private CompletionStage<HttpResponse> afterQuota(Exchange ex, RouteTable.Entry<CompiledRoute> entry, RequestEntity entity,
      java.util.OptionalLong length, Verdict verdict, boolean legacyHeaders) {
    metrics.decision(verdict);
    ex.rateLimitHeaders = RateLimitHeaders.of(verdict, legacyHeaders);
    if (verdict.admitted()) {
      return forward(ex, entry, entity, length);
    }
    String retryAfter = Long.toString(Math.max(1, (verdict.retryAfter().toMillis() + 999) / 1000));
    Problem problem = verdict.outcome() == Verdict.Outcome.LIMITED
        ? Problem.rateLimited(verdict.limitedBy().name(), verdict.limitedBy().requests(), retryAfter)
        : Problem.quotaUnavailable();
    return done(ex.problem(problem).addHeader(RawHeader.create("Retry-After", retryAfter)));
  }

  private CompletionStage<HttpResponse> forward(Exchange ex, RouteTable.Entry<CompiledRoute> entry, RequestEntity entity,
      java.util.OptionalLong length) {
    CompiledRoute route = ex.route;
    ex.outgoing = buildUpstreamRequest(ex, entry, route, entity);
    ex.resendable = entity.isKnownEmpty() || entity instanceof HttpEntity.Strict;
    ex.idempotent = ex.request.method().isIdempotent() || route.retryNonIdempotent;
    if (!ex.resendable && ex.idempotent && route.upstream.config.retries().max() > 0
        && length.isPresent() && length.getAsLong() <= RETRY_BUFFER_BYTES) {
      // A small body is read whole first, so that it can be sent again to another target.
      entity.toStrict(settings.headerReadTimeout().toMillis(), materializer).whenComplete((strict, failure) -> {
        if (failure != null) {
          ex.complete(ex.problem(Problem.badRequestBody()));
          return;
        }
        ex.outgoing = ex.outgoing.withEntity(strict);
        ex.resendable = true;
        attempt(ex);
      });
      return ex.result;
    }
    attempt(ex);
    return ex.result;
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  private HttpRequest buildUpstreamRequest(Exchange ex, RouteTable.Entry<CompiledRoute> entry, CompiledRoute route, RequestEntity entity) {
    List<HttpHeader> headers = ex.forwardHeaders;
    HostHeader hostHeader = route.upstream.config.hostHeader();
    if (hostHeader.mode() == HostHeader.Mode.PRESERVE && ex.hostHeader != null) {
      headers.add(hostHeader(ex.hostHeader));
    } else if (route.upstream.fixedHost != null) {
      headers.add(route.upstream.fixedHost);
    }
    ConnectionInfo conn = ex.connection;
    headers.add(RawHeader.create("X-Forwarded-For", ForwardedHeaders.xForwardedFor(conn, ex.xForwardedFor)));
    String proto = conn.peerTrusted() && ex.xForwardedProto != null ? ex.xForwardedProto : conn.scheme();
    headers.add(RawHeader.create("X-Forwarded-Proto", proto));
    String fwdHost = conn.peerTrusted() && ex.xForwardedHost != null ? ex.xForwardedHost : ex.hostHeader;
    if (fwdHost != null) {
      headers.add(RawHeader.create("X-Forwarded-Host", fwdHost));
    }
    String port = conn.peerTrusted() && ex.xForwardedPort != null ? ex.xForwardedPort : Integer.toString(conn.localPort());
    headers.add(RawHeader.create("X-Forwarded-Port", port));
    headers.add(RawHeader.create("Forwarded", ForwardedHeaders.forwarded(conn, ex.forwardedHeader, conn.scheme(), ex.hostHeader)));
    headers.add(RawHeader.create(requestIdHeader, ex.requestId));

    String forwardedPath = route.rewrite(entry.forwardedPath(ex.path));
    Uri uri;
    if (forwardedPath.equals(ex.path) && ex.dropQueryParameter == null) {
      uri = ex.request.getUri();
    } else {
      String query = ex.request.getUri().rawQueryString().orElse(null);
      if (query != null && ex.dropQueryParameter != null) {
        query = withoutParameter(query, ex.dropQueryParameter);
      }
      uri = Uri.create(query == null || query.isEmpty() ? forwardedPath : forwardedPath + "?" + query);
    }
    RequestEntity limited = entity instanceof HttpEntity.Strict
        ? entity
        : ((org.apache.pekko.http.scaladsl.model.RequestEntity) entity).withSizeLimit(route.maxBodyBytes);
    if (countBytes && !(limited instanceof HttpEntity.Strict) && !limited.isKnownEmpty()) {
      limited = countedRequestBody(ex, limited);
    }
    return HttpRequest.create()
        .withMethod(ex.request.method())
        .withUri(uri)
        .withProtocol(HttpProtocols.HTTP_1_1)
        .addHeaders(headers)
        .withEntity(limited);
  }

  /** The body as the upstream reads it, counting its bytes into {@code ex.bytesIn}; its length kept. */
  private static RequestEntity countedRequestBody(Exchange ex, RequestEntity entity) {
    org.apache.pekko.stream.scaladsl.Flow<org.apache.pekko.util.ByteString, org.apache.pekko.util.ByteString, NotUsed> count =
        Flow.<org.apache.pekko.util.ByteString>create().map(b -> {
          ex.bytesIn += b.size();
          return b;
        }).asScala();
    if (entity instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.Default sized) {
      return (RequestEntity) sized.transformDataBytes(sized.contentLength(), (org.apache.pekko.stream.scaladsl.Flow) count);
    }
    return ((org.apache.pekko.http.scaladsl.model.RequestEntity) entity).transformDataBytes((org.apache.pekko.stream.scaladsl.Flow) count);
  }

  /** A raw query string without every occurrence of parameter {@code name} (compared decoded). */
  static String withoutParameter(String rawQuery, String name) {
    StringBuilder kept = new StringBuilder(rawQuery.length());
    for (String part : rawQuery.split("&", -1)) {
      int eq = part.indexOf('=');
      String rawName = eq < 0 ? part : part.substring(0, eq);
      String decoded;
      try {
        decoded = java.net.URLDecoder.decode(rawName, java.nio.charset.StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        decoded = rawName;
      }
      if (!decoded.equals(name)) {
        if (kept.length() > 0) {
          kept.append('&');
        }
        kept.append(part);
      }
    }
    return kept.toString();
  }

  /** A {@code Host} model from a header value, keeping its port. */
  static org.apache.pekko.http.javadsl.model.headers.Host hostHeader(String value) {
    int colon = value.lastIndexOf(':');
    if (colon > 0 && value.indexOf(']') < colon) {
      try {
        return org.apache.pekko.http.javadsl.model.headers.Host.create(value.substring(0, colon),
            Integer.parseInt(value.substring(colon + 1)));
      } catch (NumberFormatException e) {
        // not a port: keep the value whole
      }
    }
    return org.apache.pekko.http.javadsl.model.headers.Host.create(value);
  }

  private void attempt(Exchange ex) {
    UpstreamRuntime upstream = ex.route.upstream;
    UpstreamTarget target = upstream.balancer.pick(ex, ex.tried);
    long claim = target == null ? TargetHealth.REFUSED : target.requestStarted();
    while (target != null && claim == TargetHealth.REFUSED) {
      // The verdict changed since the pick, or the last half-open permit went to another request:
      // this target sits this request out (attempts are not counted: nothing was sent).
      if (ex.tried.isEmpty()) {
        ex.tried = new ArrayList<>(2);
      }
      ex.tried.add(target);
      target = upstream.balancer.pick(ex, ex.tried);
      claim = target == null ? TargetHealth.REFUSED : target.requestStarted();
    }
    if (target == null) {
      ex.complete(ex.problem(ex.lastFailure == null
          ? Problem.noHealthyTarget(upstream.config.name())
          : ex.lastFailure).addHeader(RawHeader.create("Retry-After", "1")));
      return;
    }
    UpstreamTarget chosen = target;
    TargetPool pool = upstream.pool(chosen);
    ex.claim = claim;
    ex.target = chosen;
    ex.sent++;
    ex.upstreamNanos = -1;
    if (ex.outgoing.entity() instanceof HttpEntity.Strict strict) {
      ex.bytesIn = strict.getData().size();
    }
    ex.attemptStartNanos = System.nanoTime();
    CompletableFuture<HttpResponse> response = pool.send(ex.outgoing);
    Cancellable timer = system.scheduler().scheduleOnce(ex.route.responseTimeout,
        () -> response.completeExceptionally(RESPONSE_TIMEOUT), dispatcher);
    response.whenComplete((r, failure) -> {
      timer.cancel();
      if (failure == null) {
        onResponse(ex, chosen, r);
      } else {
        onFailure(ex, chosen, failure);
      }
    });
  }

  private void onResponse(Exchange ex, UpstreamTarget target, HttpResponse response) {
    ex.upstreamNanos = System.nanoTime() - ex.attemptStartNanos;
    int status = response.status().intValue();
    ex.route.upstream.meter.response(status, ex.upstreamNanos);
    boolean failed = status == 502 || status == 503 || status == 504;
    target.requestFinished(ex.claim, failed, System.nanoTime() - ex.attemptStartNanos);
    RetryPolicy retries = ex.route.upstream.config.retries();
    if (failed && retries.retriesStatus(status) && canRetry(ex, retries)) {
      response.discardEntityBytes(system);
      retry(ex, target, null);
      return;
    }
    ex.complete(forwardResponse(ex, response));
  }

  private void onFailure(Exchange ex, UpstreamTarget target, Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof TargetPool.QueueFullException) {
      target.requestAbandoned(ex.claim);
      ex.route.upstream.meter.failure(UpstreamMeter.Failure.OVERLOADED);
      ex.complete(ex.problem(Problem.overloaded(ex.route.upstream.config.name())).addHeader(RawHeader.create("Retry-After", "1")));
      return;
    }
    if (isSizeLimit(cause)) {
      target.requestAbandoned(ex.claim);
      ex.complete(ex.problem(Problem.bodyTooLarge(ex.route.maxBodyBytes)));
      return;
    }
    target.requestFinished(ex.claim, true, System.nanoTime() - ex.attemptStartNanos);
    RetryPolicy.Condition condition;
    Problem problem;
    String upstream = ex.route.upstream.config.name();
    if (cause == RESPONSE_TIMEOUT) {
      condition = RetryPolicy.Condition.TIMEOUT;
      ex.route.upstream.meter.failure(UpstreamMeter.Failure.TIMEOUT);
      problem = Problem.gatewayTimeout(upstream, ex.route.responseTimeout);
    } else if (cause instanceof StreamTcpException && String.valueOf(cause.getMessage()).contains("Connect")) {
      condition = RetryPolicy.Condition.CONNECT_FAILURE;
      ex.route.upstream.meter.failure(UpstreamMeter.Failure.CONNECT);
      problem = Problem.badGateway(upstream, "could not connect to a target");
    } else {
      condition = RetryPolicy.Condition.RESET;
      ex.route.upstream.meter.failure(UpstreamMeter.Failure.RESET);
      problem = Problem.badGateway(upstream, "the connection closed before a response");
    }
    RetryPolicy retries = ex.route.upstream.config.retries();
    if (retries.retries(condition) && canRetry(ex, retries)) {
      log.debug("Request {} ({} {}, route {}) to {} failed, retrying on another target: {}",
          ex.requestId, ex.method, ex.path, ex.route.route.name(), target, cause.toString());
      retry(ex, target, problem);
      return;
    }
    log.warn("Request {} ({} {}, route {}) to {} failed after {} attempt(s): {} -> {}",
        ex.requestId, ex.method, ex.path, ex.route.route.name(), target, ex.attempts, cause.toString(),
        problem.status().intValue());
    ex.complete(ex.problem(problem));
  }

  private static boolean isSizeLimit(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof EntityStreamSizeException) {
        return true;
      }
    }
    return false;
  }

  private static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while (c instanceof java.util.concurrent.CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  private static boolean canRetry(Exchange ex, RetryPolicy retries) {
    return ex.resendable && ex.idempotent && ex.attempts <= retries.max();
  }

  private void retry(Exchange ex, UpstreamTarget failed, Problem problem) {
    if (ex.tried.isEmpty()) {
      ex.tried = new ArrayList<>(2);
    }
    ex.tried.add(failed);
    ex.attempts++;
    ex.lastFailure = problem;
    attempt(ex);
  }

  /**
   * The upstream's response as the client gets it: without hop-by-hop headers, and, like nginx by
   * default, without the upstream's {@code Date} and {@code Server} (the node sends its own
   * {@code Date}); plus the request id.
   */
  private HttpResponse forwardResponse(Exchange ex, HttpResponse response) {
    List<HttpHeader> kept = new ArrayList<>(12);
    List<String> named = null;
    for (HttpHeader h : response.getHeaders()) {
      String name = h.lowercaseName();
      if (name.equals("connection")) {
        named = HopByHop.tokens(h.value(), named);
      } else if (!HopByHop.isHopByHop(name) && !name.equals("date") && !name.equals("server")) {
        kept.add(h);
      }
    }
    if (named != null) {
      List<String> tokens = named;
      kept.removeIf(h -> tokens.contains(h.lowercaseName()));
    }
    kept.add(RawHeader.create(requestIdHeader, ex.requestId));
    if (ex.rateLimitHeaders != null) {
      kept.addAll(ex.rateLimitHeaders);
    }
    return response.withHeaders(kept);
  }

  /** One request on its way through the node. */
  private final class Exchange implements RequestView, HashInput {
    final HttpRequest request;
    final ConnectionInfo connection;
    final String method;
    final String path;
    final CompletableFuture<HttpResponse> result = new CompletableFuture<>();
    String requestId;
    String host = "";
    String hostHeader;
    String xForwardedFor;
    String xForwardedProto;
    String xForwardedHost;
    String xForwardedPort;
    /** A query parameter that carried the caller's credential, removed before the upstream; or null. */
    String dropQueryParameter;
    String forwardedHeader;
    int headerBytes;
    final List<HttpHeader> forwardHeaders;
    String clientIp;
    CompiledRoute route;
    HttpRequest outgoing;
    boolean resendable;
    boolean idempotent;
    int attempts = 1;
    List<UpstreamTarget> tried = Collections.emptyList();
    Problem lastFailure;
    /** The current attempt's claim on its target (ordinary, or a half-open probe's epoch) and start. */
    long claim;
    long attemptStartNanos;
    /** Set once the quotas admitted or refused the request; sent with every answer after that. */
    List<HttpHeader> rateLimitHeaders;
    /** For the access log. */
    final long startNanos = System.nanoTime();
    final long startMillis = System.currentTimeMillis();
    /** The W3C trace-id: the client's when its traceparent was valid, else the one the gateway started. */
    final String traceId;
    String consumerId;
    UpstreamTarget target;
    int sent;
    long upstreamNanos = -1;
    volatile long bytesIn;
    volatile long bytesOut;

    Exchange(HttpRequest request, ConnectionInfo connection) {
      this.request = request;
      this.connection = connection;
      this.method = request.method().value();
      this.path = request.getUri().path();
      List<HttpHeader> out = new ArrayList<>(16);
      List<String> connectionTokens = null;
      int bytes = 0;
      HttpHeader traceparent = null;
      int traceparents = 0;
      boolean tracestate = false;
      for (HttpHeader h : request.getHeaders()) {
        String name = h.lowercaseName();
        String value = h.value();
        bytes += name.length() + value.length() + 4;
        switch (name) {
          case "host":
            hostHeader = value;
            break;
          case "x-forwarded-for":
            xForwardedFor = xForwardedFor == null ? value : xForwardedFor + ", " + value;
            break;
          case "x-forwarded-proto":
            xForwardedProto = value;
            break;
          case "x-forwarded-host":
            xForwardedHost = value;
            break;
          case "x-forwarded-port":
            xForwardedPort = value;
            break;
          case "forwarded":
            forwardedHeader = forwardedHeader == null ? value : forwardedHeader + ", " + value;
            break;
          case "connection":
            connectionTokens = HopByHop.tokens(value, connectionTokens);
            break;
          case "timeout-access":
            break;
          case "traceparent":
            traceparent = h;
            traceparents++;
            break;
          case "tracestate":
            tracestate = true;
            out.add(h);
            break;
          default:
            if (name.equals(requestIdHeaderLower)) {
              if (RequestIds.isValid(value)) {
                requestId = value;
              }
            } else if (!HopByHop.isHopByHop(name)) {
              out.add(h);
            }
        }
      }
      if (connectionTokens != null) {
        List<String> named = connectionTokens;
        out.removeIf(h -> named.contains(h.lowercaseName()));
      }
      // A client's trace goes on unchanged when its traceparent is valid (and the only one); otherwise
      // a new trace starts, and a tracestate, which belongs to the client's trace, is dropped.
      String clientTrace = traceparents == 1 ? TraceParent.traceId(traceparent.value()) : null;
      if (clientTrace != null) {
        traceId = clientTrace;
        out.add(traceparent);
      } else {
        String started = TraceParent.newTrace();
        traceId = started.substring(3, 35);
        out.add(RawHeader.create("traceparent", started));
        if (tracestate) {
          out.removeIf(h -> h.lowercaseName().equals("tracestate"));
        }
      }
      this.forwardHeaders = out;
      this.headerBytes = bytes;
      if (requestId == null) {
        requestId = RequestIds.newId();
      }
      if (hostHeader != null) {
        host = normalizeHost(hostHeader);
      } else {
        host = request.getUri().host().address().toLowerCase(Locale.ROOT);
      }
    }

    HttpResponse problem(Problem problem) {
      HttpResponse response = problem.toResponse(requestIdHeader, requestId, path);
      return rateLimitHeaders == null ? response : response.addHeaders(rateLimitHeaders);
    }

    void complete(HttpResponse response) {
      result.complete(response);
    }

    /** The access log's record, once the response has been sent. */
    AccessRecord record(int status) {
      String loggedPath = path;
      if (accessLog.includeQuery()) {
        String query = request.getUri().rawQueryString().orElse(null);
        if (query != null) {
          loggedPath = path + "?" + query;
        }
      }
      return new AccessRecord(startMillis, requestId, traceId, method, loggedPath, route == null ? null : route.route.name(),
          consumerId, clientIp(), status, bytesIn, bytesOut, System.nanoTime() - startNanos, upstreamNanos,
          target == null ? null : target.target().authority(), sent);
    }

    @Override
    public String host() {
      return host;
    }

    @Override
    public String path() {
      return path;
    }

    @Override
    public String method() {
      return method;
    }

    @Override
    public String header(String name) {
      for (HttpHeader h : request.getHeaders()) {
        if (h.name().equalsIgnoreCase(name)) {
          return h.value();
        }
      }
      return null;
    }

    @Override
    public String queryParameter(String name) {
      return request.getUri().query().get(name).orElse(null);
    }

    @Override
    public String cookie(String name) {
      for (HttpHeader h : request.getHeaders()) {
        if (h.is("cookie")) {
          String value = HopByHop.cookieValue(h.value(), name);
          if (value != null) {
            return value;
          }
        }
      }
      return null;
    }

    @Override
    public String clientIp() {
      if (clientIp == null) {
        clientIp = forwarded.clientIp(connection, xForwardedFor);
      }
      return clientIp;
    }
  }

  /** Lower case, without the port; brackets of an IPv6 literal are kept. */
  static String normalizeHost(String hostHeader) {
    String h = hostHeader;
    int colon = h.lastIndexOf(':');
    if (colon >= 0 && h.indexOf(']') < colon) {
      h = h.substring(0, colon);
    }
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        return h.toLowerCase(Locale.ROOT);
      }
    }
    return h;
  }
}
