package dev.tollgate.node.identity.jwt;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cached keys of one JWKS endpoint.
 *
 * <p>Reading the cache ({@link #cached}) never blocks or fetches in line: past their freshness the keys
 * are still answered while one refresh runs in the background. A token whose key is missing asks for a
 * refresh ({@link #refreshAfterMiss}); concurrent askers share one fetch, and no fetch starts within
 * {@code minRefreshInterval} of the last one, so a flood of unknown kids costs at most one fetch per
 * interval. A failed fetch (refused, timed out, non-200, over the size limit, not a JWK set) leaves the
 * cached keys in place however old they are; with none cached, tokens are refused.
 */
final class JwksKeys {

  private static final Logger log = LoggerFactory.getLogger(JwksKeys.class);

  private final KeySource.Jwks source;
  private final HttpClient http;
  private final Clock clock;
  private final Duration requestTimeout;
  private final int maxBytes;

  private volatile KeyRing ring; // null until a fetch has succeeded
  private final Object lock = new Object();
  private volatile CompletableFuture<Optional<KeyRing>> inFlight; // written under lock
  private volatile Instant nextFetchAllowed = Instant.MIN; // written under lock

  JwksKeys(KeySource.Jwks source, HttpClient http, Clock clock, JwtVerifier.Limits limits) {
    this.source = Objects.requireNonNull(source, "source");
    this.http = Objects.requireNonNull(http, "http");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.requestTimeout = limits.jwksRequestTimeout();
    this.maxBytes = limits.maxJwksBytes();
  }

  /** The keys cached now, if any; when they are past their freshness, a background refresh is started. */
  Optional<KeyRing> cached() {
    KeyRing current = ring;
    if (current != null && !clock.instant().isBefore(current.freshUntil())) {
      fetchUnlessThrottled();
    }
    return Optional.ofNullable(current);
  }

  /**
   * The keys after a refresh for a token whose key is not cached: the running fetch's result, a new
   * fetch's if none ran within {@code minRefreshInterval}, or else at once the keys cached now.
   */
  CompletionStage<Optional<KeyRing>> refreshAfterMiss() {
    CompletableFuture<Optional<KeyRing>> fetch = fetchUnlessThrottled();
    return fetch != null ? fetch : CompletableFuture.completedFuture(Optional.ofNullable(ring));
  }

  private CompletableFuture<Optional<KeyRing>> fetchUnlessThrottled() {
    CompletableFuture<Optional<KeyRing>> running = inFlight;
    if (running != null) {
      return running;
    }
    // checked without the lock first: while throttled, every request passing a stale cache comes here
    if (clock.instant().isBefore(nextFetchAllowed)) {
      return null;
    }
    CompletableFuture<Optional<KeyRing>> started;
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      Instant now = clock.instant();
      if (now.isBefore(nextFetchAllowed)) {
        return null;
      }
      nextFetchAllowed = now.plus(source.minRefreshInterval());
      started = new CompletableFuture<>();
      inFlight = started;
    }
    // outside the lock: a fetch that fails at once completes on this thread
    fetch().whenComplete((fetched, failure) -> {
      if (failure == null) {
        ring = fetched;
        log.debug("JWKS {}: {} usable keys, fresh until {}", source.url(), fetched.keys().size(), fetched.freshUntil());
      } else {
        log.warn("JWKS {} could not be fetched ({}); {}", source.url(), reason(failure),
            ring == null ? "no keys cached, its tokens are refused" : "the cached keys stay in use");
      }
      synchronized (lock) {
        inFlight = null;
      }
      started.complete(Optional.ofNullable(ring));
    });
    return started;
  }

  private CompletableFuture<KeyRing> fetch() {
    HttpRequest request = HttpRequest.newBuilder(source.url())
        .timeout(requestTimeout)
        .header("Accept", "application/jwk-set+json, application/json")
        .GET()
        .build();
    CompletableFuture<HttpResponse<byte[]>> exchange;
    try {
      exchange = http.sendAsync(request, info -> info.statusCode() == 200
          ? new BoundedBody(maxBytes, info.headers().firstValueAsLong("content-length"))
          : HttpResponse.BodySubscribers.replacing(new byte[0]));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    // The request timeout ends at the response head; this also bounds a body that trickles in.
    CompletableFuture.delayedExecutor(requestTimeout.toMillis(), TimeUnit.MILLISECONDS).execute(() -> exchange.cancel(true));
    return exchange.thenApply(this::keyRing);
  }

  private KeyRing keyRing(HttpResponse<byte[]> response) {
    if (response.statusCode() != 200) {
      throw new JwksUnusable("HTTP status " + response.statusCode());
    }
    JWKSet set;
    try {
      set = JWKSet.parse(new String(response.body(), StandardCharsets.UTF_8));
    } catch (ParseException e) {
      throw new JwksUnusable("the body is not a JWK set: " + e.getMessage());
    }
    List<VerificationKey> keys = new ArrayList<>();
    for (JWK key : set.getKeys()) {
      VerificationKey.of(key).ifPresent(keys::add);
    }
    Instant now = clock.instant();
    return new KeyRing(keys, now.plus(freshness(response.headers(), source.maxAge(), now)));
  }

  /**
   * How long a JWKS response may be used before it is refetched (RFC 9111 4.2.1): {@code Cache-Control:
   * max-age} less {@code Age}, else {@code Expires} less {@code Date} (or now), else {@code maxAge}; never
   * more than {@code maxAge}. {@code no-cache}, {@code no-store} and a malformed value make it stale at once.
   */
  static Duration freshness(HttpHeaders headers, Duration maxAge, Instant now) {
    Duration lifetime = null;
    List<String> cacheControl = headers.allValues("cache-control");
    if (!cacheControl.isEmpty()) {
      for (String directive : String.join(",", cacheControl).split(",")) {
        String d = directive.strip().toLowerCase(Locale.ROOT);
        if (d.equals("no-cache") || d.equals("no-store")) {
          return Duration.ZERO;
        }
        if (d.startsWith("max-age=")) {
          OptionalLong seconds = seconds(d.substring("max-age=".length()));
          if (seconds.isEmpty()) {
            return Duration.ZERO;
          }
          long age = headers.firstValue("age").map(JwksKeys::seconds).orElse(OptionalLong.empty()).orElse(0);
          lifetime = Duration.ofSeconds(Math.max(0, seconds.getAsLong() - age));
        }
      }
    }
    if (lifetime == null && headers.firstValue("expires").isPresent()) {
      Optional<Instant> expires = httpDate(headers.firstValue("expires").get());
      if (expires.isEmpty()) {
        return Duration.ZERO;
      }
      Instant base = headers.firstValue("date").flatMap(JwksKeys::httpDate).orElse(now);
      Duration left = Duration.between(base, expires.get());
      lifetime = left.isNegative() ? Duration.ZERO : left;
    }
    if (lifetime == null || lifetime.compareTo(maxAge) > 0) {
      return maxAge;
    }
    return lifetime;
  }

  private static OptionalLong seconds(String value) {
    String v = value.strip();
    if (v.startsWith("\"") && v.endsWith("\"") && v.length() >= 2) {
      v = v.substring(1, v.length() - 1);
    }
    if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(Character::isDigit)) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(Long.parseLong(v));
  }

  private static Optional<Instant> httpDate(String value) {
    try {
      return Optional.of(ZonedDateTime.parse(value.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private String reason(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof JwksUnusable unusable) {
      return unusable.getMessage();
    }
    if (cause instanceof HttpTimeoutException || cause instanceof CancellationException) {
      return "no answer within " + requestTimeout.toMillis() + " ms";
    }
    if (cause instanceof ConnectException) {
      return "connection failed" + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
    }
    return cause.toString();
  }

  /** A JWKS response that arrived but cannot be used. */
  private static final class JwksUnusable extends RuntimeException {
    JwksUnusable(String message) {
      super(message, null, false, false);
    }
  }

  /** Collects a response body, failing as soon as it is longer than the limit (declared or seen). */
  private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {

    private final int maxBytes;
    private final OptionalLong declaredLength;
    private final CompletableFuture<byte[]> body = new CompletableFuture<>();
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private Flow.Subscription subscription;

    BoundedBody(int maxBytes, OptionalLong declaredLength) {
      this.maxBytes = maxBytes;
      this.declaredLength = declaredLength;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (declaredLength.isPresent() && declaredLength.getAsLong() > maxBytes) {
        tooLarge();
        return;
      }
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (body.isDone()) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        if (received.size() + (long) buffer.remaining() > maxBytes) {
          tooLarge();
          return;
        }
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        received.writeBytes(bytes);
      }
    }

    private void tooLarge() {
      subscription.cancel();
      body.completeExceptionally(new JwksUnusable("the body is over " + maxBytes + " bytes"));
    }

    @Override
    public void onError(Throwable failure) {
      body.completeExceptionally(failure);
    }

    @Override
    public void onComplete() {
      body.complete(received.toByteArray());
    }
  }
}
