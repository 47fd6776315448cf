package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Parsing and making {@code traceparent} values as W3C Trace Context says. */
class TraceParentTest {

  static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String VALID = "00-" + TRACE + "-00f067aa0ba902b7-01";

  @Test
  void acceptsVersion00AndReturnsTheTraceId() {
    assertThat(TraceParent.traceId(VALID)).isEqualTo(TRACE);
    assertThat(TraceParent.traceId("00-" + TRACE + "-00f067aa0ba902b7-00")).isEqualTo(TRACE);
    assertThat(TraceParent.traceId("00-" + TRACE + "-00f067aa0ba902b7-ff")).as("unknown flags are kept, not refused").isEqualTo(TRACE);
  }

  @Test
  void refusesMalformedVersion00Values() {
    for (String bad : new String[] {
        "",
        "00-" + TRACE + "-00f067aa0ba902b7-0",                     // short
        VALID + "-extra",                                           // version 00 has nothing after the flags
        VALID + "0",
        "00-" + TRACE.toUpperCase() + "-00f067aa0ba902b7-01",      // upper-case hex
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace-id
        "00-" + TRACE + "-0000000000000000-01",                    // all-zero parent-id
        "00-" + TRACE + "-00f067aa0ba902b7-0g",
        "00_" + TRACE + "-00f067aa0ba902b7-01",
        "00-" + TRACE + "_00f067aa0ba902b7-01",
        "0x-" + TRACE + "-00f067aa0ba902b7-01",
        " 00-" + TRACE + "-00f067aa0ba902b7-0",
    }) {
      assertThat(TraceParent.traceId(bad)).as(bad).isNull();
    }
  }

  @Test
  void parsesLaterVersionsAsVersion00AndRefusesVersionFf() {
    assertThat(TraceParent.traceId("01-" + TRACE + "-00f067aa0ba902b7-01")).isEqualTo(TRACE);
    assertThat(TraceParent.traceId("cc-" + TRACE + "-00f067aa0ba902b7-01-what-the-future-holds")).isEqualTo(TRACE);
    assertThat(TraceParent.traceId("cc-" + TRACE + "-00f067aa0ba902b7-01what")).as("more must follow a dash").isNull();
    assertThat(TraceParent.traceId("ff-" + TRACE + "-00f067aa0ba902b7-01")).isNull();
  }

  @Test
  void newTracesAreValidSampledAndDistinct() {
    Set<String> traces = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String t = TraceParent.newTrace();
      assertThat(TraceParent.traceId(t)).as(t).isNotNull();
      assertThat(t).startsWith("00-").endsWith("-01").hasSize(55);
      traces.add(TraceParent.traceId(t));
    }
    assertThat(traces).hasSize(1000);
  }
}
