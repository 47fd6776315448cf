package dev.tollgate.node.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class ProxyProtocolHeaderTest {

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** A v2 header: version 2, the given command, family/transport byte, address block and TLVs. */
  static byte[] v2(int command, int familyTransport, byte[] addresses, byte[] tlvs) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ProxyProtocolHeader.V2_SIGNATURE);
    out.write(0x20 | command);
    out.write(familyTransport);
    int length = addresses.length + tlvs.length;
    out.write(length >> 8);
    out.write(length & 0xff);
    out.writeBytes(addresses);
    out.writeBytes(tlvs);
    return out.toByteArray();
  }

  static byte[] tcp4(int[] src, int[] dst, int sport, int dport) {
    byte[] b = new byte[12];
    for (int i = 0; i < 4; i++) {
      b[i] = (byte) src[i];
      b[4 + i] = (byte) dst[i];
    }
    b[8] = (byte) (sport >> 8);
    b[9] = (byte) sport;
    b[10] = (byte) (dport >> 8);
    b[11] = (byte) dport;
    return b;
  }

  static byte[] tcp6(String src, String dst, int sport, int dport) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(java.net.InetAddress.getByName(src).getAddress());
    out.writeBytes(java.net.InetAddress.getByName(dst).getAddress());
    out.write(sport >> 8);
    out.write(sport & 0xff);
    out.write(dport >> 8);
    out.write(dport & 0xff);
    return out.toByteArray();
  }

  /** A TLV: PP2_TYPE_AUTHORITY (0x02) with a host name. */
  static final byte[] AUTHORITY_TLV = {0x02, 0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'};

  static ProxyProtocolHeader.Result parse(byte[] b) {
    return ProxyProtocolHeader.parse(ByteString.fromArray(b));
  }

  static ProxyProtocolHeader.Decoded decoded(byte[] b) {
    ProxyProtocolHeader.Result r = parse(b);
    assertThat(r).isInstanceOf(ProxyProtocolHeader.Decoded.class);
    return (ProxyProtocolHeader.Decoded) r;
  }

  static String invalid(byte[] b) {
    ProxyProtocolHeader.Result r = parse(b);
    assertThat(r).isInstanceOf(ProxyProtocolHeader.Invalid.class);
    return ((ProxyProtocolHeader.Invalid) r).reason();
  }

  @Test
  void v1Tcp4() {
    byte[] b = ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n");
    ProxyProtocolHeader.Decoded d = decoded(b);
    assertThat(d.source().getAddress().getHostAddress()).isEqualTo("192.168.0.1");
    assertThat(d.source().getPort()).isEqualTo(56324);
    assertThat(d.destination().getAddress().getHostAddress()).isEqualTo("192.168.0.11");
    assertThat(d.destination().getPort()).isEqualTo(443);
    assertThat(d.length()).isEqualTo("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".length());
  }

  @Test
  void v1Tcp6AndUnknown() {
    ProxyProtocolHeader.Decoded d = decoded(ascii("PROXY TCP6 2001:db8::7 ::1 65535 0\r\n"));
    assertThat(d.source().getAddress().getHostAddress()).isEqualTo("2001:db8:0:0:0:0:0:7");
    assertThat(d.source().getPort()).isEqualTo(65535);
    assertThat(d.destination().getPort()).isZero();
    assertThat(decoded(ascii("PROXY UNKNOWN\r\n")).source()).isNull();
    assertThat(decoded(ascii("PROXY UNKNOWN ffff:f::f ffff:f::f 65535 65535\r\n")).source()).isNull();
  }

  @Test
  void v1TheLongestLineIsAccepted() {
    String six = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    String line = "PROXY UNKNOWN " + six + " " + six + " 65535 65535\r\n";
    assertThat(line).hasSize(ProxyProtocolHeader.V1_MAX_LENGTH);
    assertThat(decoded(ascii(line)).length()).isEqualTo(107);
    assertThat(invalid(ascii("PROXY UNKNOWN " + six + " " + six + " 65535 655350\r\n"))).contains("107");
  }

  @Test
  void v1NeedsMoreUntilTheCrlf() {
    String line = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
    for (int i = 0; i < line.length(); i++) {
      assertThat(parse(ascii(line.substring(0, i)))).as("first %d bytes", i).isInstanceOf(ProxyProtocolHeader.NeedMore.class);
    }
  }

  @Test
  void v1RejectsWhatTheSpecRejects() {
    assertThat(invalid(ascii("GET / HTTP/1.1\r\n"))).contains("signature");
    assertThat(invalid(ascii("PROXZ"))).contains("signature");
    assertThat(invalid(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"))).contains("LF without CR");
    assertThat(invalid(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\r\n"))).contains("CR");
    assertThat(invalid(ascii("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"))).isNotEmpty();
    assertThat(invalid(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"))).isNotEmpty();
    assertThat(invalid(ascii("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"))).contains("TCP4, TCP6 or UNKNOWN");
    assertThat(invalid(ascii("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"))).contains("IPv4");
    assertThat(invalid(ascii("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n"))).contains("IPv4");
    assertThat(invalid(ascii("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"))).contains("IPv4");
    assertThat(invalid(ascii("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"))).contains("IPv4");
    assertThat(invalid(ascii("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"))).contains("IPv6");
    assertThat(invalid(ascii("PROXY TCP6 1::2::3 ::1 1 2\r\n"))).contains("IPv6");
    assertThat(invalid(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"))).contains("port");
    assertThat(invalid(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"))).contains("port");
    assertThat(invalid(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"))).isNotEmpty();
    assertThat(invalid(ascii("PROXY " + "x".repeat(120)))).contains("107");
  }

  @Test
  void v2Tcp4WithATlv() {
    byte[] header = v2(1, 0x11, tcp4(new int[] {203, 0, 113, 7}, new int[] {10, 0, 0, 1}, 40000, 443), AUTHORITY_TLV);
    ProxyProtocolHeader.Decoded d = decoded(concat(header, ascii("GET /")));
    assertThat(d.source().getAddress().getHostAddress()).isEqualTo("203.0.113.7");
    assertThat(d.source().getPort()).isEqualTo(40000);
    assertThat(d.destination().getAddress().getHostAddress()).isEqualTo("10.0.0.1");
    assertThat(d.destination().getPort()).isEqualTo(443);
    assertThat(d.length()).isEqualTo(16 + 12 + AUTHORITY_TLV.length);
  }

  @Test
  void v2Tcp6() throws Exception {
    ProxyProtocolHeader.Decoded d = decoded(v2(1, 0x21, tcp6("2001:db8::42", "2001:db8::1", 1, 65535), AUTHORITY_TLV));
    assertThat(d.source().getAddress().getHostAddress()).isEqualTo("2001:db8:0:0:0:0:0:42");
    assertThat(d.destination().getPort()).isEqualTo(65535);
    assertThat(d.length()).isEqualTo(16 + 36 + AUTHORITY_TLV.length);
  }

  @Test
  void v2LocalAndUnspecAndOtherFamiliesMeanTheRealPeer() {
    byte[] addresses = tcp4(new int[] {1, 2, 3, 4}, new int[] {5, 6, 7, 8}, 1, 2);
    assertThat(decoded(v2(0, 0x00, new byte[0], new byte[0])).source()).isNull();
    assertThat(decoded(v2(0, 0x00, new byte[0], new byte[0])).length()).isEqualTo(16);
    // LOCAL: the address block is skipped by its length, whatever it holds
    assertThat(decoded(v2(0, 0x11, addresses, AUTHORITY_TLV)).source()).isNull();
    assertThat(decoded(v2(0, 0x11, addresses, AUTHORITY_TLV)).length()).isEqualTo(16 + 12 + AUTHORITY_TLV.length);
    assertThat(decoded(v2(1, 0x00, new byte[0], new byte[0])).source()).isNull();
    assertThat(decoded(v2(1, 0x12, addresses, new byte[0])).source()).as("UDP over IPv4").isNull();
    assertThat(decoded(v2(1, 0x31, new byte[216], new byte[0])).source()).as("UNIX stream").isNull();
  }

  @Test
  void v2RejectsWhatTheSpecRejects() {
    byte[] addresses = tcp4(new int[] {1, 2, 3, 4}, new int[] {5, 6, 7, 8}, 1, 2);
    byte[] badVersion = v2(1, 0x11, addresses, new byte[0]);
    badVersion[12] = 0x11;
    assertThat(invalid(badVersion)).contains("version");
    assertThat(invalid(v2(2, 0x11, addresses, new byte[0]))).contains("command");
    assertThat(invalid(v2(1, 0x41, addresses, new byte[0]))).contains("family");
    assertThat(invalid(v2(1, 0x13, addresses, new byte[0]))).contains("transport");
    assertThat(invalid(v2(1, 0x11, new byte[11], new byte[0]))).contains("shorter");
    assertThat(invalid(v2(1, 0x21, new byte[12], new byte[0]))).contains("shorter");
    byte[] badSignature = v2(1, 0x11, addresses, new byte[0]);
    badSignature[7] = 'q';
    assertThat(invalid(badSignature)).contains("signature");
    assertThat(invalid(new byte[] {0x0D, 0x0A, 0x0D, 0x0B})).as("fails before the 16th byte").contains("signature");
  }

  @Test
  void everyPrefixOfAHeaderNeedsMore() throws Exception {
    for (byte[] header : new byte[][] {
        ascii("PROXY TCP6 2001:db8::7 ::1 65535 0\r\n"),
        v2(1, 0x11, tcp4(new int[] {203, 0, 113, 7}, new int[] {10, 0, 0, 1}, 40000, 443), AUTHORITY_TLV),
        v2(1, 0x21, tcp6("2001:db8::42", "2001:db8::1", 1, 2), AUTHORITY_TLV)}) {
      for (int i = 0; i < header.length; i++) {
        assertThat(parse(java.util.Arrays.copyOf(header, i))).as("first %d of %d bytes", i, header.length)
            .isInstanceOf(ProxyProtocolHeader.NeedMore.class);
      }
      assertThat(decoded(header).length()).isEqualTo(header.length);
    }
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
