package dev.tollgate.node.upstream;

import java.util.Map;

/** A request as a balancer sees it, built by tests. Header names are given in lower case. */
record SampleRequest(Map<String, String> headers, Map<String, String> cookies, String clientIp) implements HashInput {

  static final SampleRequest ANY = fromIp("192.0.2.1");

  static SampleRequest fromIp(String ip) {
    return new SampleRequest(Map.of(), Map.of(), ip);
  }

  static SampleRequest withHeader(String name, String value, String ip) {
    return new SampleRequest(Map.of(name.toLowerCase(java.util.Locale.ROOT), value), Map.of(), ip);
  }

  static SampleRequest withCookie(String name, String value, String ip) {
    return new SampleRequest(Map.of(), Map.of(name, value), ip);
  }

  @Override
  public String header(String name) {
    return headers.get(name.toLowerCase(java.util.Locale.ROOT));
  }

  @Override
  public String cookie(String name) {
    return cookies.get(name);
  }
}
