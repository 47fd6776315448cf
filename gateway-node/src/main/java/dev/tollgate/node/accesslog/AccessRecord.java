package dev.tollgate.node.accesslog;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * What the access log says about one request. Made once per request when its response has been
 * sent in full (or failed); turned into text only on the access log's writer thread.
 *
 * @param startMillis when the request head was taken up, epoch milliseconds
 * @param route the route's name, or null when no route matched
 * @param consumer the consumer's id, or null for an anonymous caller or a request refused before
 * @param bytesIn request body bytes the gateway read from the client and sent on towards the upstream
 * @param bytesOut response body bytes the gateway sent to the client
 * @param durationNanos from taking up the request head to the end of the response body
 * @param upstreamNanos from sending the final attempt to its response head; negative when no
 *     upstream response head arrived
 * @param upstream the final attempt's target as {@code host:port}, or null when none was tried
 * @param attempts requests handed to upstream targets (retries included)
 */
public record AccessRecord(
    long startMillis, String requestId, String traceId, String method, String path, String route, String consumer,
    String clientIp, int status, long bytesIn, long bytesOut, long durationNanos, long upstreamNanos, String upstream,
    int attempts) {

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  /** One JSON object, without a line end. */
  void appendJson(StringBuilder b) {
    b.append("{\"time\":\"");
    TIME.formatTo(Instant.ofEpochMilli(startMillis), b);
    b.append("\",\"request_id\":");
    string(b, requestId);
    b.append(",\"trace_id\":");
    string(b, traceId);
    b.append(",\"method\":");
    string(b, method);
    b.append(",\"path\":");
    string(b, path);
    b.append(",\"route\":");
    string(b, route);
    b.append(",\"consumer\":");
    string(b, consumer);
    b.append(",\"client_ip\":");
    string(b, clientIp);
    b.append(",\"status\":").append(status);
    b.append(",\"bytes_in\":").append(bytesIn);
    b.append(",\"bytes_out\":").append(bytesOut);
    b.append(",\"duration_ms\":");
    millis(b, durationNanos);
    b.append(",\"upstream_ms\":");
    if (upstreamNanos < 0) {
      b.append("null");
    } else {
      millis(b, upstreamNanos);
    }
    b.append(",\"upstream\":");
    string(b, upstream);
    b.append(",\"attempts\":").append(attempts).append('}');
  }

  /**
   * One line for people: time, client, quoted request, status, bytes in and out, duration, then
   * {@code name=value} pairs; {@code -} for what is absent.
   */
  void appendText(StringBuilder b) {
    TIME.formatTo(Instant.ofEpochMilli(startMillis), b);
    b.append(' ').append(clientIp).append(" \"");
    escaped(b, method);
    b.append(' ');
    escaped(b, path);
    b.append("\" ").append(status).append(' ').append(bytesIn).append(' ').append(bytesOut).append(' ');
    millis(b, durationNanos);
    b.append("ms upstream=").append(upstream == null ? "-" : upstream).append(" upstream_ms=");
    if (upstreamNanos < 0) {
      b.append('-');
    } else {
      millis(b, upstreamNanos);
    }
    b.append(" attempts=").append(attempts).append(" route=");
    text(b, route);
    b.append(" consumer=");
    text(b, consumer);
    b.append(" request_id=");
    text(b, requestId);
    b.append(" trace_id=");
    text(b, traceId);
  }

  /** Milliseconds with three decimals (microseconds), as a JSON number. */
  private static void millis(StringBuilder b, long nanos) {
    long micros = Math.max(0, nanos) / 1000;
    b.append(micros / 1000).append('.');
    long frac = micros % 1000;
    if (frac < 100) {
      b.append('0');
    }
    if (frac < 10) {
      b.append('0');
    }
    b.append(frac);
  }

  private static void string(StringBuilder b, String s) {
    if (s == null) {
      b.append("null");
      return;
    }
    b.append('"');
    escaped(b, s);
    b.append('"');
  }

  private static void text(StringBuilder b, String s) {
    if (s == null) {
      b.append('-');
    } else {
      escaped(b, s);
    }
  }

  /** JSON string escaping; also keeps a text line one line with no stray quote. */
  static void escaped(StringBuilder b, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
            b.append("\\u").append(HEX[(c >> 12) & 0xf]).append(HEX[(c >> 8) & 0xf])
                .append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
          } else {
            b.append(c);
          }
        }
      }
    }
  }
}
