package dev.tollgate.node.proxy;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Logs a peer's connection problems at WARN at most once per interval and at DEBUG otherwise, so
 * that a misconfigured load balancer or a scanner cannot flood the log.
 */
final class PeerWarnings {

  /** Peers remembered at most; past it the memory starts over (a burst of new peers warns again). */
  private static final int MAX_PEERS = 10_000;

  private final Logger log;
  private final long intervalNanos;
  private final LongSupplier nanoClock;
  private final ConcurrentHashMap<InetAddress, Long> lastWarned = new ConcurrentHashMap<>();

  PeerWarnings(Logger log, Duration interval, LongSupplier nanoClock) {
    this.log = log;
    this.intervalNanos = interval.toNanos();
    this.nanoClock = nanoClock;
  }

  /** Logs {@code message} (an SLF4J pattern whose first argument is the peer) for {@code peer}. */
  void warn(InetAddress peer, String message, Object... more) {
    Object[] args = new Object[more.length + 1];
    args[0] = peer.getHostAddress();
    System.arraycopy(more, 0, args, 1, more.length);
    if (shouldWarn(peer)) {
      log.warn(message + " (further ones from this peer within {} s at DEBUG)", append(args, intervalNanos / 1_000_000_000L));
    } else if (log.isDebugEnabled()) {
      log.debug(message, args);
    }
  }

  /** Logs {@code message} for {@code peer} at DEBUG only. */
  void debug(InetAddress peer, String message, Object... more) {
    if (log.isDebugEnabled()) {
      Object[] args = new Object[more.length + 1];
      args[0] = peer.getHostAddress();
      System.arraycopy(more, 0, args, 1, more.length);
      log.debug(message, args);
    }
  }

  boolean shouldWarn(InetAddress peer) {
    long now = nanoClock.getAsLong();
    if (lastWarned.size() >= MAX_PEERS) {
      lastWarned.clear();
    }
    boolean[] warn = {false};
    lastWarned.compute(peer, (p, last) -> {
      if (last == null || now - last >= intervalNanos) {
        warn[0] = true;
        return now;
      }
      return last;
    });
    return warn[0];
  }

  private static Object[] append(Object[] args, Object last) {
    Object[] out = java.util.Arrays.copyOf(args, args.length + 1);
    out[args.length] = last;
    return out;
  }
}
