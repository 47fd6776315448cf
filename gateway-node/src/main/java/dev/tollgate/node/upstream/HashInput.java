package dev.tollgate.node.upstream;

/** The parts of a request the consistent-hash balancer can key on. Implemented by the proxy's request view. */
public interface HashInput {

  /** The first value of a header (name case-insensitive), or null. */
  String header(String name);

  /** The value of a request cookie, or null. */
  String cookie(String name);

  /** The client's IP address as text (after trusted forwarding headers are applied). */
  String clientIp();
}
