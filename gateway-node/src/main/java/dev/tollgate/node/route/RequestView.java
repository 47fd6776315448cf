package dev.tollgate.node.route;

/** The parts of a request that routes match on. Implemented over the HTTP model by the proxy. */
public interface RequestView {

  /** The host name, lower case, without port. Empty when the request names none. */
  String host();

  /** The path, not decoded, without the query. */
  String path();

  /** The method name, upper case. */
  String method();

  /** The first value of a header (name case-insensitive), or null. */
  String header(String name);

  /** The first value of a query parameter (decoded), or null. */
  String queryParameter(String name);
}
