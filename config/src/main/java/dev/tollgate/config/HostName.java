package dev.tollgate.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/** Host names and {@code host[:port]} authorities as written in the configuration, checked without DNS. */
final class HostName {

  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
  private static final Pattern IPV4 =
      Pattern.compile("((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");
  private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]+");
  private static final Pattern DIGITS = Pattern.compile("[0-9]+");

  /** A host and a port, {@code -1} when none was written. IPv6 hosts are kept without brackets. */
  record Authority(String host, int port) {}

  private HostName() {}

  /** A DNS name (letters, digits, hyphens; labels of 1 to 63; at most 253 in all) or an IPv4 address. */
  static boolean isNameOrIpv4(String host) {
    if (IPV4.matcher(host).matches()) {
      return true;
    }
    if (host.isEmpty() || host.length() > 253) {
      return false;
    }
    String[] labels = host.split("\\.", -1);
    for (String label : labels) {
      if (!LABEL.matcher(label).matches()) {
        return false;
      }
    }
    // a last label of digits only would make a mistyped IPv4 address pass as a name
    return !DIGITS.matcher(labels[labels.length - 1]).matches();
  }

  /** An IPv6 address, as written between brackets. Never touches DNS: the bracketed form is a literal. */
  static boolean isIpv6(String host) {
    if (!IPV6_CHARS.matcher(host).matches() || host.indexOf(':') < 0) {
      return false;
    }
    try {
      return InetAddress.getByName("[" + host + "]").getAddress().length == 16;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /**
   * Parses {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}. The host is lower-cased.
   * Empty when it is none of these or the port is not 1 to 65535.
   */
  static Optional<Authority> authority(String text) {
    String host;
    String rest;
    if (text.startsWith("[")) {
      int close = text.indexOf(']');
      if (close < 0) {
        return Optional.empty();
      }
      host = text.substring(1, close);
      if (!isIpv6(host)) {
        return Optional.empty();
      }
      rest = text.substring(close + 1);
    } else {
      int colon = text.indexOf(':');
      host = colon < 0 ? text : text.substring(0, colon);
      if (!isNameOrIpv4(host)) {
        return Optional.empty();
      }
      rest = colon < 0 ? "" : text.substring(colon);
    }
    int port = -1;
    if (!rest.isEmpty()) {
      if (!rest.startsWith(":")) {
        return Optional.empty();
      }
      port = port(rest.substring(1));
      if (port < 0) {
        return Optional.empty();
      }
    }
    return Optional.of(new Authority(host.toLowerCase(Locale.ROOT), port));
  }

  /** The port 1 to 65535 written as decimal digits, or -1. */
  static int port(String digits) {
    if (!DIGITS.matcher(digits).matches() || digits.length() > 5) {
      return -1;
    }
    int port = Integer.parseInt(digits);
    return port >= 1 && port <= 65535 ? port : -1;
  }
}
