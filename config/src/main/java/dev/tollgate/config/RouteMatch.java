package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a request must look like to take a route. Every non-empty part must match; within a part,
 * any entry may match (any host, any path, any method), except headers and query, where all must.
 *
 * @param hosts exact host names or {@code *.suffix} wildcards (one or more labels); empty = any host
 * @param paths exact, prefix (segment boundary) or regex (whole path) matches; empty = any path
 * @param methods upper-case method names; empty = any method
 */
public record RouteMatch(
    List<String> hosts, List<PathMatch> paths, Set<String> methods, List<FieldMatch> headers, List<FieldMatch> query) {

  public RouteMatch {
    hosts = List.copyOf(Objects.requireNonNull(hosts, "hosts"));
    paths = List.copyOf(Objects.requireNonNull(paths, "paths"));
    methods = Set.copyOf(Objects.requireNonNull(methods, "methods"));
    headers = List.copyOf(Objects.requireNonNull(headers, "headers"));
    query = List.copyOf(Objects.requireNonNull(query, "query"));
  }

  /** Matches every request: {@code match: {}} in the file. */
  public static final RouteMatch ANY = new RouteMatch(List.of(), List.of(), Set.of(), List.of(), List.of());

  public static RouteMatch paths(PathMatch... paths) {
    return new RouteMatch(List.of(), List.of(paths), Set.of(), List.of(), List.of());
  }

  public RouteMatch withHosts(String... h) {
    return new RouteMatch(List.of(h), paths, methods, headers, query);
  }

  public RouteMatch withMethods(String... m) {
    return new RouteMatch(hosts, paths, Set.of(m), headers, query);
  }

  public RouteMatch withHeaders(FieldMatch... h) {
    return new RouteMatch(hosts, paths, methods, List.of(h), query);
  }

  public RouteMatch withQuery(FieldMatch... q) {
    return new RouteMatch(hosts, paths, methods, headers, List.of(q));
  }
}
