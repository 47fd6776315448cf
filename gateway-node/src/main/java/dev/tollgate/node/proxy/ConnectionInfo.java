package dev.tollgate.node.proxy;

import java.net.InetSocketAddress;

/**
 * What the proxy knows about one client connection, computed once when it is accepted.
 *
 * @param peerIp the address of the TCP peer, as text
 * @param peerTrusted whether the peer is a trusted proxy, whose forwarding headers are believed
 * @param localPort the port the client connected to
 * @param scheme {@code http} or {@code https}
 */
record ConnectionInfo(InetSocketAddress remote, String peerIp, boolean peerTrusted, int localPort, String scheme) {}
