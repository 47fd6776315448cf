package dev.tollgate.node.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * Decodes the PROXY protocol header (HAProxy's {@code proxy-protocol.txt}, version 1 text and
 * version 2 binary) from the first bytes of a connection. Pure: it looks at the bytes received so
 * far and says whether they hold a whole header, need more, or can never become one.
 *
 * <p>What it accepts, after the spec:
 * <ul>
 *   <li>v1: {@code "PROXY TCP4|TCP6 src dst sport dport\r\n"} with single spaces, canonical
 *       addresses of the announced family (IPv4 without leading zeroes) and ports 0..65535 without
 *       leading zeroes; {@code "PROXY UNKNOWN ...\r\n"} (anything up to the CRLF) means the real
 *       peer. The CRLF must come within 107 bytes; a lone CR or LF does not end the line.
 *   <li>v2: the 12-byte signature {@code 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A}, version 2 in the
 *       high nibble of byte 13 and the command (0 LOCAL, 1 PROXY) in its low one, family (0..3) and
 *       transport (0..2) in byte 14, the big-endian length of what follows in bytes 15-16. LOCAL
 *       means the real peer, whatever follows. PROXY with TCP over IPv4 (0x11) or IPv6 (0x21)
 *       carries source and destination addresses, then ports; every other valid combination
 *       (UNSPEC, UDP, UNIX) falls back to UNSPEC, the real peer, as the spec allows. Bytes past the
 *       addresses (TLVs) are skipped.
 * </ul>
 */
final class ProxyProtocolHeader {

  /** What the bytes so far amount to. */
  sealed interface Result permits NeedMore, Invalid, Decoded {}

  /** Not yet a whole header; more bytes may make one. */
  record NeedMore() implements Result {}

  /** Never a valid header; the connection must be closed. */
  record Invalid(String reason) implements Result {}

  /**
   * A whole header of {@code length} bytes; what follows it belongs to the application protocol.
   *
   * @param source the client's address, or null when the header says to use the real peer (v1
   *     UNKNOWN, v2 LOCAL, v2 UNSPEC and families not carried over TCP)
   * @param destination the address the client connected to, or null likewise
   */
  record Decoded(InetSocketAddress source, InetSocketAddress destination, int length) implements Result {
    InetSocketAddress sourceOr(InetSocketAddress peer) {
      return source == null ? peer : source;
    }
  }

  /** The longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports). */
  static final int V1_MAX_LENGTH = 107;
  static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  private static final byte[] V1_PREFIX = "PROXY ".getBytes(StandardCharsets.US_ASCII);
  private static final NeedMore NEED_MORE = new NeedMore();

  private ProxyProtocolHeader() {}

  static Result parse(ByteString bytes) {
    if (bytes.isEmpty()) {
      return NEED_MORE;
    }
    byte first = bytes.apply(0);
    if (first == 'P') {
      return parseV1(bytes);
    }
    if (first == V2_SIGNATURE[0]) {
      return parseV2(bytes);
    }
    return new Invalid("does not start with a PROXY protocol signature");
  }

  private static Result parseV1(ByteString bytes) {
    int n = bytes.length();
    for (int i = 0; i < Math.min(n, V1_PREFIX.length); i++) {
      if (bytes.apply(i) != V1_PREFIX[i]) {
        return new Invalid("does not start with a PROXY protocol signature");
      }
    }
    int lf = -1;
    for (int i = 0; i < Math.min(n, V1_MAX_LENGTH); i++) {
      byte b = bytes.apply(i);
      if (b == '\n') {
        lf = i;
        break;
      }
      if (b == '\r' && i + 1 < n && bytes.apply(i + 1) != '\n') {
        return new Invalid("v1 line holds a CR not followed by LF");
      }
      if (b != '\r' && (b < 0x20 || b > 0x7e)) {
        return new Invalid("v1 line holds a byte that is not printable US-ASCII");
      }
    }
    if (lf < 0) {
      return n >= V1_MAX_LENGTH ? new Invalid("v1 line has no CRLF within " + V1_MAX_LENGTH + " bytes") : NEED_MORE;
    }
    if (lf == 0 || bytes.apply(lf - 1) != '\r') {
      return new Invalid("v1 line ends with a LF without CR");
    }
    String line = bytes.slice(0, lf - 1).decodeString(StandardCharsets.US_ASCII);
    String[] parts = line.split(" ", -1);
    int length = lf + 1;
    if (parts.length >= 2 && parts[1].equals("UNKNOWN")) {
      return new Decoded(null, null, length);
    }
    boolean v6;
    if (parts.length >= 2 && parts[1].equals("TCP4")) {
      v6 = false;
    } else if (parts.length >= 2 && parts[1].equals("TCP6")) {
      v6 = true;
    } else {
      return new Invalid("v1 protocol is not TCP4, TCP6 or UNKNOWN");
    }
    if (parts.length != 6) {
      return new Invalid("v1 line is not PROXY " + parts[1] + " <src> <dst> <sport> <dport>");
    }
    InetAddress src = v6 ? ipv6(parts[2]) : ipv4(parts[2]);
    InetAddress dst = v6 ? ipv6(parts[3]) : ipv4(parts[3]);
    int sport = port(parts[4]);
    int dport = port(parts[5]);
    if (src == null || dst == null) {
      return new Invalid("v1 address is not a canonical " + (v6 ? "IPv6" : "IPv4") + " address");
    }
    if (sport < 0 || dport < 0) {
      return new Invalid("v1 port is not 0..65535 without leading zeroes");
    }
    return new Decoded(new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport), length);
  }

  private static Result parseV2(ByteString bytes) {
    int n = bytes.length();
    for (int i = 0; i < Math.min(n, V2_SIGNATURE.length); i++) {
      if (bytes.apply(i) != V2_SIGNATURE[i]) {
        return new Invalid("does not start with a PROXY protocol signature");
      }
    }
    if (n < 16) {
      return NEED_MORE;
    }
    int versionCommand = bytes.apply(12) & 0xff;
    if (versionCommand >> 4 != 2) {
      return new Invalid("v2 version is not 2");
    }
    int command = versionCommand & 0x0f;
    if (command > 1) {
      return new Invalid("v2 command is neither LOCAL nor PROXY");
    }
    int familyTransport = bytes.apply(13) & 0xff;
    int family = familyTransport >> 4;
    int transport = familyTransport & 0x0f;
    if (family > 3 || transport > 2) {
      return new Invalid("v2 address family or transport is not one the spec defines");
    }
    int addressLength = ((bytes.apply(14) & 0xff) << 8) | (bytes.apply(15) & 0xff);
    int length = 16 + addressLength;
    if (n < length) {
      return NEED_MORE;
    }
    if (command == 0 || transport != 1 || (family != 1 && family != 2)) {
      return new Decoded(null, null, length);
    }
    int size = family == 1 ? 4 : 16;
    if (addressLength < 2 * size + 4) {
      return new Invalid("v2 address block is shorter than its family's addresses and ports");
    }
    try {
      InetAddress src = InetAddress.getByAddress(bytes.slice(16, 16 + size).toArray());
      InetAddress dst = InetAddress.getByAddress(bytes.slice(16 + size, 16 + 2 * size).toArray());
      int ports = 16 + 2 * size;
      int sport = ((bytes.apply(ports) & 0xff) << 8) | (bytes.apply(ports + 1) & 0xff);
      int dport = ((bytes.apply(ports + 2) & 0xff) << 8) | (bytes.apply(ports + 3) & 0xff);
      return new Decoded(new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport), length);
    } catch (UnknownHostException e) {
      return new Invalid("v2 address of the wrong size"); // cannot happen: 4 or 16 bytes
    }
  }

  /** Exactly four decimal numbers 0..255 without leading zeroes, joined by dots; null otherwise. */
  private static InetAddress ipv4(String s) {
    String[] octets = s.split("\\.", -1);
    if (octets.length != 4) {
      return null;
    }
    byte[] address = new byte[4];
    for (int i = 0; i < 4; i++) {
      int v = decimal(octets[i], 3);
      if (v < 0 || v > 255) {
        return null;
      }
      address[i] = (byte) v;
    }
    try {
      return InetAddress.getByAddress(address);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** An IPv6 literal (hex groups, colons, at most one "::"); null otherwise. Never asks DNS. */
  private static InetAddress ipv6(String s) {
    if (s.isEmpty() || s.length() > 45 || s.indexOf(':') < 0 || s.indexOf("::") != s.lastIndexOf("::")) {
      return null;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
        return null;
      }
    }
    try {
      // A literal with a ':' is parsed, not looked up. Java turns an IPv4-mapped address
      // (::ffff:a.b.c.d) into its IPv4 address, which is then the client's.
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static int port(String s) {
    int v = decimal(s, 5);
    return v > 65535 ? -1 : v;
  }

  /** A decimal number of 1..maxDigits digits without leading zeroes, or -1. */
  private static int decimal(String s, int maxDigits) {
    if (s.isEmpty() || s.length() > maxDigits || (s.length() > 1 && s.charAt(0) == '0')) {
      return -1;
    }
    int v = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
}
