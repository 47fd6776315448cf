package dev.tollgate.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A rule that sends matching requests to an upstream.
 *
 * @param priority higher wins; among equal priorities the most specific match wins (see {@code RouteTable})
 * @param stripPrefix remove the matched exact or prefix path before forwarding ({@code /echo/a} → {@code /a})
 * @param rewrite a regex rewrite of the path, applied after {@code stripPrefix}
 * @param timeout the response timeout for this route, overriding the upstream's
 * @param maxBodyBytes the largest request body accepted, overriding the node default; larger gets 413
 * @param retryNonIdempotent allow retries of POST, PATCH and other non-idempotent methods
 * @param rateLimit the route's own limits, counted per consumer or per client IP, on top of plans
 * @param auth who may use the route and how callers identify themselves on it
 */
public record Route(
    String name,
    int priority,
    RouteMatch match,
    boolean stripPrefix,
    Optional<PathRewrite> rewrite,
    String upstream,
    Optional<Duration> timeout,
    OptionalLong maxBodyBytes,
    boolean retryNonIdempotent,
    Optional<RouteLimits> rateLimit,
    RouteAuth auth) {

  public Route {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(match, "match");
    Objects.requireNonNull(rewrite, "rewrite");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(maxBodyBytes, "maxBodyBytes");
    Objects.requireNonNull(rateLimit, "rateLimit");
    Objects.requireNonNull(auth, "auth");
  }

  /** A route with default settings for everything but its name, match and upstream. */
  public static Route of(String name, RouteMatch match, String upstream) {
    return new Route(name, 0, match, false, Optional.empty(), upstream, Optional.empty(), OptionalLong.empty(), false, Optional.empty(),
        RouteAuth.DEFAULT);
  }

  public Route withPriority(int p) {
    return new Route(name, p, match, stripPrefix, rewrite, upstream, timeout, maxBodyBytes, retryNonIdempotent, rateLimit, auth);
  }

  public Route withStripPrefix(boolean s) {
    return new Route(name, priority, match, s, rewrite, upstream, timeout, maxBodyBytes, retryNonIdempotent, rateLimit, auth);
  }

  public Route withRewrite(PathRewrite r) {
    return new Route(name, priority, match, stripPrefix, Optional.of(r), upstream, timeout, maxBodyBytes, retryNonIdempotent, rateLimit, auth);
  }

  public Route withTimeout(Duration t) {
    return new Route(name, priority, match, stripPrefix, rewrite, upstream, Optional.of(t), maxBodyBytes, retryNonIdempotent, rateLimit, auth);
  }

  public Route withMaxBodyBytes(long bytes) {
    return new Route(name, priority, match, stripPrefix, rewrite, upstream, timeout, OptionalLong.of(bytes), retryNonIdempotent, rateLimit, auth);
  }

  public Route withRetryNonIdempotent(boolean r) {
    return new Route(name, priority, match, stripPrefix, rewrite, upstream, timeout, maxBodyBytes, r, rateLimit, auth);
  }

  public Route withRateLimit(RouteLimits limits) {
    return new Route(name, priority, match, stripPrefix, rewrite, upstream, timeout, maxBodyBytes, retryNonIdempotent,
        Optional.of(limits), auth);
  }

  public Route withAuth(RouteAuth a) {
    return new Route(name, priority, match, stripPrefix, rewrite, upstream, timeout, maxBodyBytes, retryNonIdempotent,
        rateLimit, a);
  }
}
