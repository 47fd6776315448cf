package dev.tollgate.node.proxy;

import dev.tollgate.config.CidrRange;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * {@code X-Forwarded-*} and {@code Forwarded} (RFC 7239) handling. Headers from a trusted proxy are
 * extended; from anyone else they are replaced, so a client cannot spoof its address.
 */
final class ForwardedHeaders {

  private final List<CidrRange> trusted;

  ForwardedHeaders(List<CidrRange> trusted) {
    this.trusted = List.copyOf(trusted);
  }

  boolean isTrusted(InetAddress address) {
    for (CidrRange r : trusted) {
      if (r.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The client's address: the peer, or, when the peer is trusted, the rightmost address of the
   * {@code X-Forwarded-For} chain that is not a trusted proxy.
   */
  String clientIp(ConnectionInfo connection, String xForwardedFor) {
    if (!connection.peerTrusted() || xForwardedFor == null || xForwardedFor.isEmpty()) {
      return connection.peerIp();
    }
    String[] hops = xForwardedFor.split(",");
    String candidate = connection.peerIp();
    for (int i = hops.length - 1; i >= 0; i--) {
      String hop = hops[i].trim();
      InetAddress address = parseIp(hop);
      if (address == null) {
        return candidate;
      }
      candidate = address.getHostAddress();
      if (!isTrusted(address)) {
        return candidate;
      }
    }
    return candidate;
  }

  /** The new {@code X-Forwarded-For}: the trusted chain plus the peer, or just the peer. */
  static String xForwardedFor(ConnectionInfo connection, String incoming) {
    if (connection.peerTrusted() && incoming != null && !incoming.isEmpty()) {
      return incoming + ", " + connection.peerIp();
    }
    return connection.peerIp();
  }

  /** The new {@code Forwarded}: the trusted list plus this hop's element, or just this hop's. */
  static String forwarded(ConnectionInfo connection, String incoming, String proto, String host) {
    StringBuilder element = new StringBuilder(64);
    element.append("for=");
    String ip = connection.peerIp();
    if (ip.indexOf(':') >= 0) {
      element.append("\"[").append(ip).append("]\"");
    } else {
      element.append(ip);
    }
    element.append(";proto=").append(proto);
    if (host != null && !host.isEmpty()) {
      element.append(";host=");
      if (isToken(host)) {
        element.append(host);
      } else {
        element.append('"').append(host.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      }
    }
    if (connection.peerTrusted() && incoming != null && !incoming.isEmpty()) {
      return incoming + ", " + element;
    }
    return element.toString();
  }

  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
      if (!ok) {
        return false;
      }
    }
    return !s.isEmpty();
  }

  /** A literal IPv4 or IPv6 address, never a name: this must not touch DNS. Null if not one. */
  static InetAddress parseIp(String text) {
    String s = text;
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    if (s.isEmpty()) {
      return null;
    }
    boolean v6 = s.indexOf(':') >= 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = v6 ? Character.digit(c, 16) >= 0 || c == ':' || c == '.' : (c >= '0' && c <= '9') || c == '.';
      if (!ok) {
        return null;
      }
    }
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
