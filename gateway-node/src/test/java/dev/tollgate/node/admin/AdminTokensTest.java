package dev.tollgate.node.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which named token a request's {@code Authorization} header carries, if any. */
class AdminTokensTest {

  static final Map<String, String> TOKENS = new LinkedHashMap<>();

  static {
    TOKENS.put("admin", "single-token-0123456789");
    TOKENS.put("ci", "ci-token-0123456789");
    TOKENS.put("ops-alice", "alice-token-0123456789");
  }

  final AdminTokens tokens = new AdminTokens(TOKENS);

  @Test
  void eachTokenIsAcceptedUnderItsOwnName() {
    TOKENS.forEach((name, token) -> {
      assertThat(tokens.check(Optional.of("Bearer " + token)))
          .isEqualTo(new AdminTokens.Check(AdminTokens.Verdict.ACCEPTED, Optional.of(name)));
      assertThat(tokens.check(Optional.of("  bEaReR   " + token + " ")).name()).as("scheme case, spaces").hasValue(name);
    });
  }

  @Test
  void anythingElseIsMissingOrWrongAndNamesNoToken() {
    assertThat(tokens.check(Optional.empty())).isEqualTo(AdminTokens.Check.MISSING);
    assertThat(tokens.check(Optional.of("Basic ci-token-0123456789"))).isEqualTo(AdminTokens.Check.MISSING);
    assertThat(tokens.check(Optional.of("Bearer"))).isEqualTo(AdminTokens.Check.MISSING);
    for (String wrong : new String[] {"ci-token-012345678", "ci-token-01234567890", "CI-TOKEN-0123456789",
        "single-token-0123456789ci-token-0123456789"}) {
      assertThat(tokens.check(Optional.of("Bearer " + wrong))).as(wrong).isEqualTo(AdminTokens.Check.WRONG);
    }
    assertThat(tokens.toString()).isEqualTo("AdminTokens[admin, ci, ops-alice] (hidden)").doesNotContain("0123456789");
    assertThatThrownBy(() -> new AdminTokens(Map.of())).isInstanceOf(IllegalArgumentException.class);
  }
}
