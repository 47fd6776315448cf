package dev.tollgate.node.route;

import dev.tollgate.config.FieldMatch;
import dev.tollgate.config.PathMatch;
import dev.tollgate.config.Route;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Finds the route of a request. Compiled once per config version; {@link #match} is called on every
 * request and allocates nothing unless a route uses a regex.
 *
 * <p>Order, first match wins:
 * <ol>
 *   <li>higher {@code priority};
 *   <li>host: an exact host, then wildcards (longest suffix first), then routes without hosts;
 *   <li>path: exact, then regex, then prefix (longest first), then routes without paths;
 *   <li>more conditions on methods, headers and query;
 *   <li>the order of the routes in the file.
 * </ol>
 * Each (host, path) pair of a route is ranked on its own, so a route with several hosts or paths
 * takes the rank of whichever of them matches.
 *
 * @param <T> what a route compiles to (the proxy's {@code CompiledRoute}); returned by matches
 */
public final class RouteTable<T> {

  /** One (route, host, path) combination, ranked. */
  public static final class Entry<T> {
    private final T target;
    private final Route route;
    private final int declared;
    private final HostCondition host;
    private final PathCondition path;
    private final Set<String> methods;
    private final FieldCondition[] headers;
    private final FieldCondition[] query;

    private Entry(T target, Route route, int declared, HostCondition host, PathCondition path) {
      this.target = target;
      this.route = route;
      this.declared = declared;
      this.host = host;
      this.path = path;
      this.methods = route.match().methods();
      this.headers = route.match().headers().stream().map(FieldCondition::new).toArray(FieldCondition[]::new);
      this.query = route.match().query().stream().map(FieldCondition::new).toArray(FieldCondition[]::new);
    }

    public T target() {
      return target;
    }

    public Route route() {
      return route;
    }

    /**
     * The path the upstream sees before any rewrite: with {@code strip_prefix}, the request path
     * without the matched exact or prefix path, always starting with {@code /}.
     */
    public String forwardedPath(String requestPath) {
      if (!route.stripPrefix() || path.kind == null || path.kind == PathMatch.Kind.REGEX) {
        return requestPath;
      }
      String prefix = path.value;
      int cut = prefix.endsWith("/") ? prefix.length() - 1 : prefix.length();
      String rest = requestPath.substring(cut);
      return rest.isEmpty() ? "/" : rest;
    }

    private boolean matches(String reqHost, RequestView request, String reqPath) {
      if (!host.matches(reqHost) || !path.matches(reqPath)) {
        return false;
      }
      if (!methods.isEmpty() && !methods.contains(request.method())) {
        return false;
      }
      for (FieldCondition h : headers) {
        if (!h.matches(request.header(h.name))) {
          return false;
        }
      }
      for (FieldCondition q : query) {
        if (!q.matches(request.queryParameter(q.name))) {
          return false;
        }
      }
      return true;
    }

    private int conditions() {
      return (methods.isEmpty() ? 0 : 1) + headers.length + query.length;
    }

    @Override
    public String toString() {
      return route.name() + "[" + host + " " + path + "]";
    }
  }

  private static final class HostCondition {
    /** 0 exact, 1 wildcard, 2 any. */
    final int rank;
    final String value;
    /** For a wildcard, the suffix including its leading dot. */
    final String suffix;

    HostCondition(String pattern) {
      if (pattern == null) {
        rank = 2;
        value = "";
        suffix = "";
      } else if (pattern.startsWith("*.")) {
        rank = 1;
        value = pattern.toLowerCase(Locale.ROOT);
        suffix = value.substring(1);
      } else {
        rank = 0;
        value = pattern.toLowerCase(Locale.ROOT);
        suffix = "";
      }
    }

    boolean matches(String host) {
      switch (rank) {
        case 0:
          return value.equals(host);
        case 1:
          return host.length() > suffix.length() && host.endsWith(suffix);
        default:
          return true;
      }
    }

    @Override
    public String toString() {
      return rank == 2 ? "*" : value;
    }
  }

  private static final class PathCondition {
    /** Null means any path. */
    final PathMatch.Kind kind;
    final String value;
    final Pattern regex;

    PathCondition(PathMatch match) {
      this.kind = match == null ? null : match.kind();
      this.value = match == null ? "" : match.value();
      this.regex = kind == PathMatch.Kind.REGEX ? Pattern.compile(value) : null;
    }

    /** 0 exact, 1 regex, 2 prefix, 3 any. */
    int rank() {
      if (kind == null) {
        return 3;
      }
      switch (kind) {
        case EXACT:
          return 0;
        case REGEX:
          return 1;
        default:
          return 2;
      }
    }

    boolean matches(String path) {
      if (kind == null) {
        return true;
      }
      switch (kind) {
        case EXACT:
          return value.equals(path);
        case REGEX:
          return regex.matcher(path).matches();
        default:
          return prefixMatches(value, path);
      }
    }

    @Override
    public String toString() {
      return kind == null ? "any" : kind.name().toLowerCase(Locale.ROOT) + " " + value;
    }
  }

  /** A prefix matches at a segment boundary: {@code /a} matches {@code /a}, {@code /a/}, {@code /a/b}. */
  static boolean prefixMatches(String prefix, String path) {
    if (!path.startsWith(prefix)) {
      return false;
    }
    return path.length() == prefix.length() || prefix.endsWith("/") || path.charAt(prefix.length()) == '/';
  }

  private static final class FieldCondition {
    final String name;
    final FieldMatch.Kind kind;
    final String value;
    final Pattern regex;

    FieldCondition(FieldMatch match) {
      this.name = match.name();
      this.kind = match.kind();
      this.value = match.value();
      this.regex = kind == FieldMatch.Kind.REGEX ? Pattern.compile(value) : null;
    }

    boolean matches(String actual) {
      switch (kind) {
        case PRESENT:
          return actual != null;
        case ABSENT:
          return actual == null;
        case EXACT:
          return value.equals(actual);
        default:
          return actual != null && regex.matcher(actual).matches();
      }
    }
  }

  private static final Comparator<Entry<?>> ORDER =
      Comparator.<Entry<?>>comparingInt(e -> -e.route.priority())
          .thenComparingInt(e -> e.host.rank)
          .thenComparingInt(e -> -e.host.suffix.length())
          .thenComparingInt(e -> e.path.rank())
          .thenComparingInt(e -> e.path.kind == PathMatch.Kind.PREFIX ? -e.path.value.length() : 0)
          .thenComparingInt(e -> -e.conditions())
          .thenComparingInt(e -> e.declared);

  private final Map<String, Entry<T>[]> byExactHost;
  private final Entry<T>[] otherHosts;

  private RouteTable(Map<String, Entry<T>[]> byExactHost, Entry<T>[] otherHosts) {
    this.byExactHost = byExactHost;
    this.otherHosts = otherHosts;
  }

  /**
   * Compiles routes (already validated) into a table.
   *
   * @param compile what each route becomes, e.g. its filter chain and upstream
   */
  public static <T> RouteTable<T> compile(List<Route> routes, Function<Route, T> compile) {
    Objects.requireNonNull(routes, "routes");
    List<Entry<T>> exact = new ArrayList<>();
    List<Entry<T>> others = new ArrayList<>();
    for (int i = 0; i < routes.size(); i++) {
      Route route = routes.get(i);
      T target = compile.apply(route);
      List<String> hosts = route.match().hosts().isEmpty() ? java.util.Collections.singletonList(null) : route.match().hosts();
      List<PathMatch> paths = route.match().paths().isEmpty() ? java.util.Collections.singletonList(null) : route.match().paths();
      for (String h : hosts) {
        HostCondition host = new HostCondition(h);
        for (PathMatch p : paths) {
          Entry<T> entry = new Entry<>(target, route, i, host, new PathCondition(p));
          (host.rank == 0 ? exact : others).add(entry);
        }
      }
    }
    others.sort(ORDER);
    Map<String, List<Entry<T>>> grouped = new HashMap<>();
    for (Entry<T> e : exact) {
      grouped.computeIfAbsent(e.host.value, k -> new ArrayList<>(others)).add(e);
    }
    Map<String, Entry<T>[]> byHost = new HashMap<>();
    grouped.forEach((host, list) -> {
      list.sort(ORDER);
      byHost.put(host, toArray(list));
    });
    return new RouteTable<>(Map.copyOf(byHost), toArray(others));
  }

  @SuppressWarnings("unchecked")
  private static <T> Entry<T>[] toArray(List<Entry<T>> list) {
    return list.toArray(new Entry[0]);
  }

  /** The best entry for the request, or null when no route matches. */
  public Entry<T> match(RequestView request) {
    String host = request.host();
    Entry<T>[] candidates = byExactHost.isEmpty() ? otherHosts : byExactHost.getOrDefault(host, otherHosts);
    String path = request.path();
    for (Entry<T> e : candidates) {
      if (e.matches(host, request, path)) {
        return e;
      }
    }
    return null;
  }
}
