package dev.tollgate.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/** An IPv4 or IPv6 address block such as {@code 10.0.0.0/8}, {@code ::1/128} or a single address. */
public final class CidrRange {

  private final byte[] network;
  private final int prefixLength;
  private final String text;

  private CidrRange(byte[] network, int prefixLength, String text) {
    this.network = network;
    this.prefixLength = prefixLength;
    this.text = text;
  }

  /**
   * Parses {@code address} or {@code address/prefix}. Only literal addresses are accepted, never
   * host names, so parsing never touches DNS.
   *
   * @throws IllegalArgumentException with a message fit for a config error
   */
  public static CidrRange parse(String text) {
    Objects.requireNonNull(text, "text");
    int slash = text.indexOf('/');
    String addressPart = slash < 0 ? text : text.substring(0, slash);
    if (!looksLikeIpLiteral(addressPart)) {
      throw new IllegalArgumentException("not an IP address or CIDR block");
    }
    byte[] address;
    try {
      address = InetAddress.getByName(addressPart).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address or CIDR block");
    }
    int bits = address.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(text.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("prefix length is not a number");
      }
      if (prefix < 0 || prefix > bits) {
        throw new IllegalArgumentException("prefix length must be 0.." + bits);
      }
    }
    return new CidrRange(mask(address, prefix), prefix, text);
  }

  private static boolean looksLikeIpLiteral(String s) {
    if (s.isEmpty()) {
      return false;
    }
    if (s.indexOf(':') >= 0) {
      return s.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.');
    }
    return s.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.') && s.chars().filter(c -> c == '.').count() == 3;
  }

  private static byte[] mask(byte[] address, int prefix) {
    byte[] out = address.clone();
    for (int i = 0; i < out.length; i++) {
      int keep = Math.max(0, Math.min(8, prefix - i * 8));
      out[i] &= (byte) (0xff << (8 - keep));
    }
    return out;
  }

  public boolean contains(InetAddress address) {
    byte[] a = address.getAddress();
    if (a.length != network.length) {
      return false;
    }
    byte[] masked = mask(a, prefixLength);
    return java.util.Arrays.equals(masked, network);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CidrRange c && c.prefixLength == prefixLength && java.util.Arrays.equals(c.network, network);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(network) * 31 + prefixLength;
  }

  @Override
  public String toString() {
    return text;
  }
}
