package dev.tollgate.config;

import java.util.Locale;
import java.util.Optional;

/** The {@code url} of a target: {@code http(s)://host[:port]} with at most a trailing {@code /}. */
final class TargetUrl {

  static final String EXAMPLE = "such as http://10.0.0.1:8080";
  static final String EXPECTED = "an http:// or https:// URL with a host and an optional port, " + EXAMPLE;

  private TargetUrl() {}

  /**
   * Reads the url into a target of the given weight; on a bad url reports what is wrong with it
   * at {@code node} and returns empty.
   */
  static Optional<Target> read(ConfigNode node, String url, int weight) {
    String scheme;
    if (url.startsWith("http://")) {
      scheme = "http";
    } else if (url.startsWith("https://")) {
      scheme = "https";
    } else {
      node.invalid(EXPECTED);
      return Optional.empty();
    }
    String afterScheme = url.substring(scheme.length() + 3);
    int end = afterScheme.length();
    for (char c : new char[] {'/', '?', '#'}) {
      int i = afterScheme.indexOf(c);
      if (i >= 0 && i < end) {
        end = i;
      }
    }
    String authority = afterScheme.substring(0, end);
    String rest = afterScheme.substring(end);
    if (rest.indexOf('?') >= 0 || rest.indexOf('#') >= 0) {
      node.invalid("a URL without a query or fragment, " + EXAMPLE);
      return Optional.empty();
    }
    if (!rest.isEmpty() && !rest.equals("/")) {
      node.invalid("a URL without a path, " + EXAMPLE + "; routes decide the path");
      return Optional.empty();
    }
    if (authority.indexOf('@') >= 0) {
      node.invalid("a URL without user info, " + EXAMPLE);
      return Optional.empty();
    }
    Optional<HostName.Authority> parsed = HostName.authority(authority);
    if (parsed.isEmpty()) {
      int portColon = authority.lastIndexOf(':');
      boolean hostValid = portColon > 0 && HostName.authority(authority.substring(0, portColon)).isPresent();
      node.invalid(hostValid
          ? "a URL whose port is 1 to 65535, " + EXAMPLE
          : "a URL whose host is a DNS name, an IPv4 address or a bracketed IPv6 address, " + EXAMPLE);
      return Optional.empty();
    }
    int port = parsed.get().port() > 0 ? parsed.get().port() : scheme.equals("https") ? 443 : 80;
    return Optional.of(new Target(scheme, parsed.get().host().toLowerCase(Locale.ROOT), port, weight));
  }
}
