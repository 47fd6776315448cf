package dev.tollgate.node.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How long a JWKS response is used, from its cache headers and the issuer's cap. */
class JwksFreshnessTest {

  private static final Duration CAP = Duration.ofMinutes(10);
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

  @Test
  void maxAgeIsHonouredLessTheAge() {
    assertThat(freshness("Cache-Control", "public, max-age=120")).isEqualTo(Duration.ofSeconds(120));
    assertThat(freshness("Cache-Control", "max-age=120", "Age", "30")).isEqualTo(Duration.ofSeconds(90));
    assertThat(freshness("Cache-Control", "max-age=120", "Age", "500")).isEqualTo(Duration.ZERO);
    assertThat(freshness("Cache-Control", "max-age=\"60\"")).isEqualTo(Duration.ofSeconds(60));
    assertThat(freshness("Cache-Control", "MAX-AGE=60, must-revalidate")).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void theIssuersMaxAgeCapsTheResponses() {
    assertThat(freshness("Cache-Control", "max-age=86400")).isEqualTo(CAP);
    assertThat(freshness("Expires", "Mon, 01 Mar 2027 12:00:00 GMT")).isEqualTo(CAP);
    assertThat(freshness()).isEqualTo(CAP);
  }

  @Test
  void noCacheNoStoreAndMalformedValuesAreStaleAtOnce() {
    assertThat(freshness("Cache-Control", "no-cache")).isEqualTo(Duration.ZERO);
    assertThat(freshness("Cache-Control", "max-age=60, no-store")).isEqualTo(Duration.ZERO);
    assertThat(freshness("Cache-Control", "max-age=soon")).isEqualTo(Duration.ZERO);
    assertThat(freshness("Expires", "0")).isEqualTo(Duration.ZERO);
  }

  @Test
  void expiresCountsFromTheResponsesDateOrElseFromNow() {
    assertThat(freshness("Expires", "Sun, 01 Mar 2026 12:05:00 GMT")).isEqualTo(Duration.ofMinutes(5));
    // the server's clock runs an hour behind ours: its own Date says how long it meant
    assertThat(freshness("Date", "Sun, 01 Mar 2026 11:00:00 GMT", "Expires", "Sun, 01 Mar 2026 11:02:00 GMT"))
        .isEqualTo(Duration.ofMinutes(2));
    assertThat(freshness("Expires", "Sun, 01 Mar 2026 11:00:00 GMT")).isEqualTo(Duration.ZERO);
  }

  @Test
  void maxAgeWinsOverExpires() {
    assertThat(freshness("Cache-Control", "max-age=30", "Expires", "Sun, 01 Mar 2026 12:05:00 GMT"))
        .isEqualTo(Duration.ofSeconds(30));
  }

  private static Duration freshness(String... namesAndValues) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      headers.put(namesAndValues[i], List.of(namesAndValues[i + 1]));
    }
    return JwksKeys.freshness(HttpHeaders.of(headers, (name, value) -> true), CAP, NOW);
  }
}
