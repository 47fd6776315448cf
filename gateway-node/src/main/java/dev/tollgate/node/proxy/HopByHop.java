package dev.tollgate.node.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy must not forward, and small header parsing. */
final class HopByHop {

  private HopByHop() {}

  /** Whether a header (lower-case name) belongs to one connection only. */
  static boolean isHopByHop(String name) {
    switch (name) {
      case "connection":
      case "keep-alive":
      case "te":
      case "trailer":
      case "transfer-encoding":
      case "upgrade":
      case "timeout-access":
        return true;
      default:
        return name.startsWith("proxy-");
    }
  }

  /** Adds the lower-case tokens of a {@code Connection} header value to {@code into} (made if null). */
  static List<String> tokens(String value, List<String> into) {
    List<String> out = into == null ? new ArrayList<>(2) : into;
    for (String token : value.split(",")) {
      String t = token.trim().toLowerCase(Locale.ROOT);
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
    return out;
  }

  /** The value of cookie {@code name} in a {@code Cookie} header value, or null. */
  static String cookieValue(String header, String name) {
    int i = 0;
    int n = header.length();
    while (i < n) {
      while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == ';')) {
        i++;
      }
      int end = header.indexOf(';', i);
      if (end < 0) {
        end = n;
      }
      int eq = header.indexOf('=', i);
      if (eq > 0 && eq < end && header.regionMatches(i, name, 0, name.length()) && eq - i == name.length()) {
        String v = header.substring(eq + 1, end).trim();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
          v = v.substring(1, v.length() - 1);
        }
        return v;
      }
      i = end + 1;
    }
    return null;
  }

}
