package dev.tollgate.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The declarative configuration of a gateway: its upstreams and the routes that lead to them.
 * Immutable; produced only by {@link ConfigLoader} after validation, so every route's upstream exists.
 */
public record GatewayConfig(List<Upstream> upstreams, List<Route> routes) {

  public GatewayConfig {
    upstreams = List.copyOf(Objects.requireNonNull(upstreams, "upstreams"));
    routes = List.copyOf(Objects.requireNonNull(routes, "routes"));
  }

  public Optional<Upstream> upstream(String name) {
    return upstreams.stream().filter(u -> u.name().equals(name)).findFirst();
  }
}
