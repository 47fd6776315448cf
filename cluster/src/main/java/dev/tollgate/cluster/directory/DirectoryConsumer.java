package dev.tollgate.cluster.directory;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A consumer managed in the directory, as opposed to one declared in the config file.
 *
 * @param plan the plan whose limits apply to it, if any
 * @param groups the groups it belongs to, for routes' {@code auth.allow}
 */
public record DirectoryConsumer(String id, Optional<String> plan, List<String> groups) {

  public DirectoryConsumer {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(plan, "plan");
    groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
  }
}
