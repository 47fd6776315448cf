package dev.tollgate.node.proxy;

import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.Route;
import dev.tollgate.node.identity.RouteGuard;
import dev.tollgate.node.metrics.RouteMeter;
import java.time.Duration;
import java.util.regex.Pattern;

/** A route prepared for the request path: its upstream, limits and rewrite, resolved once. */
final class CompiledRoute {

  final Route route;
  final UpstreamRuntime upstream;
  final Pattern rewrite;
  final String rewriteReplacement;
  final long maxBodyBytes;
  final Duration responseTimeout;
  final boolean retryNonIdempotent;
  final RouteGuard guard;
  final RouteMeter meter;

  CompiledRoute(Route route, UpstreamRuntime upstream, NodeSettings.Proxy proxy, RouteGuard guard,
      RouteMeter meter) {
    this.route = route;
    this.upstream = upstream;
    this.rewrite = route.rewrite().map(r -> Pattern.compile(r.regex())).orElse(null);
    this.rewriteReplacement = route.rewrite().map(r -> r.replacement()).orElse(null);
    this.maxBodyBytes = route.maxBodyBytes().orElse(proxy.maxBodyBytes());
    this.responseTimeout = route.timeout().orElse(upstream.config.timeouts().response());
    this.retryNonIdempotent = route.retryNonIdempotent();
    this.guard = guard;
    this.meter = meter;
  }

  /** Applies the route's rewrite, if any, to the (already prefix-stripped) path. */
  String rewrite(String path) {
    return rewrite == null ? path : rewrite.matcher(path).replaceFirst(rewriteReplacement);
  }
}
