package dev.tollgate.node.proxy;

import java.util.concurrent.ThreadLocalRandom;

/**
 * W3C Trace Context's {@code traceparent}: {@code version-traceid-parentid-flags}, such as
 * {@code 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01}.
 *
 * <p>The gateway does not take part in a trace that a client started: a valid {@code traceparent}
 * and its {@code tracestate} go to the upstream unchanged. Without a valid one, the gateway starts
 * a trace with {@link #newTrace()}: a random trace-id and parent-id, flags {@code 01} (sampled).
 * Sampled, because the gateway is then the trace's root and its access log line (which carries the
 * trace-id) is its record of that request, which is what the flag says the caller may have kept;
 * and because parent-based samplers, the usual default downstream, drop every trace whose root
 * says "not sampled", which would make the traces the gateway starts useless.
 */
final class TraceParent {

  /** Length of a version 00 value; later versions may append {@code -...} after it. */
  static final int LENGTH = 55;
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private TraceParent() {}

  /**
   * The trace-id of a {@code traceparent} value, or null if the value is invalid. Parsed as the
   * spec says: version {@code ff} is invalid; version {@code 00} is exactly 55 characters; a later
   * version is parsed as version {@code 00} for its first 55 characters, and whatever follows must
   * start with {@code -}. Hex digits are lower case; an all-zero trace-id or parent-id is invalid.
   */
  static String traceId(String value) {
    int n = value.length();
    if (n < LENGTH || !isHex(value, 0, 2) || value.charAt(2) != '-' || value.charAt(35) != '-' || value.charAt(52) != '-') {
      return null;
    }
    boolean v00 = value.charAt(0) == '0' && value.charAt(1) == '0';
    if (value.charAt(0) == 'f' && value.charAt(1) == 'f') {
      return null;
    }
    if (v00 ? n != LENGTH : n > LENGTH && value.charAt(LENGTH) != '-') {
      return null;
    }
    if (!isHex(value, 3, 35) || isZero(value, 3, 35) || !isHex(value, 36, 52) || isZero(value, 36, 52)
        || !isHex(value, 53, 55)) {
      return null;
    }
    return value.substring(3, 35);
  }

  /** A new trace: {@code 00-<random trace-id>-<random parent-id>-01}. Not secret, so ThreadLocalRandom. */
  static String newTrace() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] out = new char[LENGTH];
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    long hi;
    long lo;
    do {
      hi = random.nextLong();
      lo = random.nextLong();
    } while (hi == 0 && lo == 0);
    long span;
    do {
      span = random.nextLong();
    } while (span == 0);
    hex(hi, out, 3);
    hex(lo, out, 19);
    out[35] = '-';
    hex(span, out, 36);
    out[52] = '-';
    out[53] = '0';
    out[54] = '1';
    return new String(out);
  }

  private static void hex(long v, char[] out, int at) {
    for (int i = 0; i < 16; i++) {
      out[at + 15 - i] = HEX[(int) (v >>> (i * 4)) & 0xf];
    }
  }

  private static boolean isHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isZero(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (s.charAt(i) != '0') {
        return false;
      }
    }
    return true;
  }
}
