package dev.tollgate.config;

import java.util.List;
import java.util.Objects;

/** A named set of limits that consumers subscribe to; every limit applies across all routes. */
public record Plan(String name, List<Limit> limits, OnUnavailable onUnavailable) {

  public Plan {
    Objects.requireNonNull(name, "name");
    limits = List.copyOf(Objects.requireNonNull(limits, "limits"));
    Objects.requireNonNull(onUnavailable, "onUnavailable");
  }
}
