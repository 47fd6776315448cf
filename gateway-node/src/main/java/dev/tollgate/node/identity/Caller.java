package dev.tollgate.node.identity;

import java.util.Objects;
import java.util.Optional;

/** Who sent a request, as far as the gateway can tell. */
public sealed interface Caller {

  /** A known consumer, with the plan whose limits apply to it, if any. */
  record Consumer(String id, Optional<String> plan) implements Caller {
    public Consumer {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(plan, "plan");
    }
  }

  /** A caller that presented no credential: counted by client IP. */
  record Anonymous() implements Caller {}

  /**
   * A caller that presented a credential the gateway does not accept: answered 401.
   *
   * @param challenge the {@code WWW-Authenticate} value to send
   * @param detail why, for the problem body; never the credential itself
   */
  record Rejected(String challenge, String detail) implements Caller {
    public Rejected {
      Objects.requireNonNull(challenge, "challenge");
      Objects.requireNonNull(detail, "detail");
    }
  }

  Anonymous ANONYMOUS = new Anonymous();
}
