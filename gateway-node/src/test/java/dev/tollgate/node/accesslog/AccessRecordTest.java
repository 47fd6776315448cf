package dev.tollgate.node.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Lines as the writer formats them: JSON that parses back to the same values, text on one line. */
class AccessRecordTest {

  static final String AWKWARD = "/a \"quoted\" \\ back\nnew\rline\ttab\u0001\u007f\u2028é😀";

  static AccessRecord record(String path, String consumer, long upstreamNanos) {
    return new AccessRecord(1_764_694_800_123L, "req-1", "4bf92f3577b34da6a3ce929d0e0e4736", "GET", path, "app", consumer,
        "203.0.113.7", 200, 12, 3456, 12_345_678, upstreamNanos, "10.0.0.5:8080", 2);
  }

  @Test
  void jsonEscapesEveryAwkwardCharacterAndParsesBack() throws Exception {
    StringBuilder b = new StringBuilder();
    record(AWKWARD, null, 4_000_001).appendJson(b);
    String line = b.toString();
    assertThat(line).doesNotContain("\n", "\r", "\u2028");
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(json.get("path").asText()).isEqualTo(AWKWARD);
    assertThat(json.get("time").asText()).isEqualTo("2025-12-02T17:00:00.123Z");
    assertThat(json.get("consumer").isNull()).isTrue();
    assertThat(json.get("duration_ms").decimalValue()).isEqualByComparingTo("12.345");
    assertThat(json.get("upstream_ms").decimalValue()).isEqualByComparingTo("4.000");
    assertThat(json.get("attempts").asInt()).isEqualTo(2);
  }

  @Test
  void textIsOneLineWithDashesForWhatIsAbsent() {
    StringBuilder b = new StringBuilder();
    record("/x", null, -1).appendText(b);
    assertThat(b.toString()).isEqualTo("2025-12-02T17:00:00.123Z 203.0.113.7 \"GET /x\" 200 12 3456 12.345ms"
        + " upstream=10.0.0.5:8080 upstream_ms=- attempts=2 route=app consumer=- request_id=req-1"
        + " trace_id=4bf92f3577b34da6a3ce929d0e0e4736");
    b.setLength(0);
    record(AWKWARD, "acme", 900).appendText(b);
    assertThat(b.toString()).doesNotContain("\n", "\r").contains("upstream_ms=0.000").contains("consumer=acme");
  }
}
