package dev.tollgate.loadtests.quota;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * One consumer's requests offered at a fixed rate (an open model: a slow answer does not slow the
 * offer), spread over nodes by weight, over a fixed number of keep-alive HTTP/1.1 connections per
 * node; and how they were answered, per window of the send time. A request due while every
 * connection of its node is busy is not sent, and counted as such, rather than queued without
 * bound. Plain blocking sockets with TCP_NODELAY: the client must cost far less than the nodes.
 */
final class Load {

  static final int SENT = 0;
  static final int OK = 1;
  static final int LIMITED = 2;
  static final int UNAVAILABLE = 3;
  static final int OTHER = 4;
  /** Due but not sent: every connection of the node was busy. */
  static final int NOT_SENT = 5;
  static final int KINDS = 6;

  private final int[] ports;
  private final int[] weights;
  private final int rate;
  private final long windowMillis;
  private final int connections;
  private final byte[] request;
  /** Per window of the send time: sent, then answers by kind. */
  final Map<Long, long[]> byWindow = new ConcurrentHashMap<>();
  final LongAdder sent = new LongAdder();
  final LongAdder skipped = new LongAdder();
  final LongAdder failed = new LongAdder();
  /** Failures without an answer, by what they were. */
  final Map<String, Long> failures = new ConcurrentHashMap<>();
  long measureStartMillis;
  long endMillis;

  Load(int[] ports, int[] weights, int rate, Duration per, int connections, String apiKey) {
    this.ports = ports.clone();
    this.weights = weights.clone();
    this.rate = rate;
    this.windowMillis = per.toMillis();
    this.connections = connections;
    this.request = ("GET /accuracy HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: " + apiKey + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Waits until every node answers the consumer's request with 200 or 429 (the cluster has formed). */
  void awaitAnswering(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int node = 0; node < ports.length; node++) {
      while (true) {
        try (HttpConnection c = new HttpConnection(ports[node])) {
          int status = c.exchange(request);
          if (status == 200 || status == 429) {
            break;
          }
        } catch (IOException e) {
          // not yet
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("node " + (char) ('a' + node) + " did not admit the consumer within "
              + timeout.getSeconds() + " s");
        }
        Thread.sleep(200);
      }
    }
  }

  /** Offers {@code rate} requests a second for the warm-up and then the measured duration. */
  void run(Duration warmup, Duration duration) throws InterruptedException {
    List<BlockingQueue<Long>> due = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int node = 0; node < ports.length; node++) {
      // A ticket per request, its window id; a full queue means every connection is busy.
      BlockingQueue<Long> tickets = new ArrayBlockingQueue<>(connections);
      due.add(tickets);
      for (int c = 0; c < connections; c++) {
        int port = ports[node];
        Thread t = new Thread(() -> serve(port, tickets), "load-" + node + "-" + c);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }
    int[] current = new int[weights.length];
    int totalWeight = java.util.Arrays.stream(weights).sum();
    long startNanos = System.nanoTime();
    measureStartMillis = System.currentTimeMillis() + warmup.toMillis();
    long count = warmup.plus(duration).getSeconds() * rate;
    double interval = 1e9 / rate;
    for (long i = 0; i < count; i++) {
      long wait = startNanos + (long) (i * interval) - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      // Smooth weighted round-robin: the skew holds in every short stretch, not only on average.
      int pick = 0;
      for (int n = 0; n < weights.length; n++) {
        current[n] += weights[n];
        if (current[n] > current[pick]) {
          pick = n;
        }
      }
      current[pick] -= totalWeight;
      long window = Math.floorDiv(System.currentTimeMillis(), windowMillis);
      if (!due.get(pick).offer(window)) {
        skipped.increment();
        count(window, NOT_SENT);
        continue;
      }
      sent.increment();
      count(window, SENT);
    }
    endMillis = System.currentTimeMillis();
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (due.stream().anyMatch(q -> !q.isEmpty()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    Thread.sleep(200); // the last requests taken are answered
    threads.forEach(Thread::interrupt);
  }

  private void serve(int port, BlockingQueue<Long> tickets) {
    HttpConnection connection = null;
    while (!Thread.currentThread().isInterrupted()) {
      Long window;
      try {
        window = tickets.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (window == null) {
        continue;
      }
      int kind;
      try {
        if (connection == null) {
          connection = new HttpConnection(port);
        }
        int status = connection.exchange(request);
        kind = switch (status) {
          case 200 -> OK;
          case 429 -> LIMITED;
          case 503 -> UNAVAILABLE;
          default -> OTHER;
        };
        if (connection.closeAfter) {
          connection.close();
          connection = null;
        }
      } catch (IOException e) {
        failed.increment();
        failures.merge(e.toString(), 1L, Long::sum);
        kind = OTHER;
        if (connection != null) {
          connection.close();
          connection = null;
        }
      }
      count(window, kind);
    }
    if (connection != null) {
      connection.close();
    }
  }

  private void count(long window, int kind) {
    long[] counts = byWindow.computeIfAbsent(window, k -> new long[KINDS]);
    synchronized (counts) {
      counts[kind]++;
    }
  }
}
