package dev.tollgate.node.identity;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Who sent a request, as far as the gateway can tell. */
public sealed interface Caller {

  /** A known consumer, with the plan whose limits apply to it, if any, and its groups. */
  record Consumer(String id, Optional<String> plan, List<String> groups) implements Caller {
    public Consumer {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(plan, "plan");
      groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
    }

    /** A consumer in no group. */
    public Consumer(String id, Optional<String> plan) {
      this(id, plan, List.of());
    }
  }

  /** A caller that presented no credential: counted by client IP. */
  record Anonymous() implements Caller {}

  Anonymous ANONYMOUS = new Anonymous();
}
