package dev.tollgate.loadtests.ha;

import dev.tollgate.loadtests.quota.HttpConnection;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The drill's traffic: requests offered at a fixed rate through one address (HAProxy's front), an
 * open model (a slow answer does not slow the offer), mostly from the quota consumer and the rest
 * anonymous on a route without limits, over a fixed set of keep-alive connections. A request due
 * while every connection is busy is not sent, and counted as such, rather than queued without
 * bound. Answers are counted in the {@link Tally} current when the request was due, so each
 * scenario has its own figures.
 *
 * <p>The consumer's admitted requests are also counted per quota window, the window read from the
 * answer's {@code RateLimit} header ({@code t}, seconds to the window's end, as the node decided):
 * by the client's clock a request sent just before a window's end may be decided in the next one,
 * so counting by send time could show an over-admission that did not happen, or hide one.
 */
final class DrillLoad {

  private static final Pattern RESET_SECONDS = Pattern.compile(";t=(\\d+)");
  private static final Pattern NODE_PORT = Pattern.compile("\"node_port\":\"(\\d+)\"");

  /** One scenario's figures. */
  static final class Tally {
    final String name;
    final LongAdder sent = new LongAdder();
    final LongAdder notSent = new LongAdder();
    final LongAdder ok = new LongAdder();
    final LongAdder limited = new LongAdder();
    /** 503 quota-unavailable: the plan's declared on_unavailable: deny while its counter is unreachable. */
    final LongAdder denied = new LongAdder();
    /** Any other 5xx: a proxy error. */
    final LongAdder serverErrors = new LongAdder();
    final LongAdder otherStatus = new LongAdder();
    final LongAdder connectionErrors = new LongAdder();
    /** Connection errors before any byte of the answer arrived (the request may not have been read). */
    final LongAdder errorsBeforeAnswer = new LongAdder();
    final LongAdder consumerOk = new LongAdder();
    /** Requests sent again once (see {@code serve}); not in {@link #connectionErrors} unless the retry failed too. */
    final LongAdder retried = new LongAdder();
    /** Idle connections found closed by the server before a request was written on them, and replaced. */
    final LongAdder staleConnections = new LongAdder();
    /** Consumer windows (by id) this scenario's admitted requests fell in. */
    final Set<Long> windows = ConcurrentHashMap.newKeySet();
    /** Epoch ms of the consumer's last 5xx or connection error; 0 for none. */
    final AtomicLong lastConsumerFailure = new AtomicLong();
    /** Epoch ms of the consumer's last 503 deny; 0 for none. */
    final AtomicLong lastConsumerDenied = new AtomicLong();
    final Map<String, Long> errorKinds = new ConcurrentHashMap<>();

    Tally(String name) {
      this.name = name;
    }

    long fiveHundreds() {
      return denied.sum() + serverErrors.sum();
    }

    void error(String kind) {
      if (errorKinds.size() < 20 || errorKinds.containsKey(kind)) {
        errorKinds.merge(kind, 1L, Long::sum);
      }
    }
  }

  private record Ticket(boolean consumer, Tally tally) {}

  private final InetAddress host;
  private final int port;
  private final int rate;
  private final double consumerShare;
  private final long windowSeconds;
  private final byte[] consumerRequest;
  private final byte[] anonymousRequest;
  private final BlockingQueue<Ticket> due;
  private final List<Thread> threads = new ArrayList<>();
  /** Per connection: the proxy port of the node it reached (from the upstream's answer), 0 if not yet known. */
  private final AtomicIntegerArray nodeOfConnection;
  /** Per connection: 1 while a request is out. */
  private final AtomicIntegerArray busy;
  /** The consumer's admitted requests per window id, over the whole drill. */
  final Map<Long, LongAdder> admittedByWindow = new ConcurrentHashMap<>();
  /** The consumer's requests per window id (by the client's clock) that failed without an answer. */
  final Map<Long, LongAdder> unknownByWindow = new ConcurrentHashMap<>();
  final LongAdder withoutRateLimitHeader = new LongAdder();
  private volatile Tally tally;
  private volatile boolean consumerPaused;
  private volatile boolean stopping;

  DrillLoad(InetAddress host, int port, int rate, double consumerShare, int connections, long windowSeconds,
      String apiKey) {
    this.host = host;
    this.port = port;
    this.rate = rate;
    this.consumerShare = consumerShare;
    this.windowSeconds = windowSeconds;
    this.consumerRequest = ("GET /api/drill HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: " + apiKey + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    this.anonymousRequest = "GET /open/drill HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    this.due = new ArrayBlockingQueue<>(connections);
    this.nodeOfConnection = new AtomicIntegerArray(connections);
    this.busy = new AtomicIntegerArray(connections);
    for (int c = 0; c < connections; c++) {
      int id = c;
      Thread t = new Thread(() -> serve(id), "drill-connection-" + c);
      t.setDaemon(true);
      threads.add(t);
    }
  }

  /** Counts from now on into {@code next}. */
  void countInto(Tally next) {
    tally = next;
  }

  /** While paused, the consumer's share of the requests goes to the anonymous route instead. */
  void pauseConsumer(boolean paused) {
    consumerPaused = paused;
  }

  /** Requests out now on connections that reached the node with proxy port {@code nodePort}. */
  int inFlightOn(int nodePort) {
    int n = 0;
    for (int c = 0; c < busy.length(); c++) {
      if (busy.get(c) == 1 && nodeOfConnection.get(c) == nodePort) {
        n++;
      }
    }
    return n;
  }

  /** Requests out now on connections not answered yet, whose node is therefore not known. */
  int inFlightOnUnknownNodes() {
    return inFlightOn(0);
  }

  /** Starts the connections and the pacer; runs until {@link #stop}. */
  void start(Tally first) {
    tally = first;
    threads.forEach(Thread::start);
    Thread pacer = new Thread(this::pace, "drill-pacer");
    pacer.setDaemon(true);
    pacer.start();
    threads.add(pacer);
  }

  /** Stops offering, waits (bounded) for the answers of what was sent, and stops the connections. */
  void stop() throws InterruptedException {
    stopping = true;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
    while ((!due.isEmpty() || anyBusy()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    threads.forEach(Thread::interrupt);
  }

  private boolean anyBusy() {
    for (int c = 0; c < busy.length(); c++) {
      if (busy.get(c) == 1) {
        return true;
      }
    }
    return false;
  }

  private void pace() {
    long start = System.nanoTime();
    double interval = 1e9 / rate;
    double consumerCredit = 0;
    for (long i = 0; !stopping; i++) {
      long wait = start + (long) (i * interval) - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      // A steady mix in every short stretch, not only on average.
      consumerCredit += consumerShare;
      boolean consumer = consumerCredit >= 1;
      if (consumer) {
        consumerCredit -= 1;
      }
      Tally t = tally;
      if (due.offer(new Ticket(consumer && !consumerPaused, t))) {
        t.sent.increment();
      } else {
        t.notSent.increment();
      }
    }
  }

  private void serve(int id) {
    HttpConnection connection = null;
    long uses = 0;
    boolean answerStarted = false;
    while (!Thread.currentThread().isInterrupted()) {
      Ticket ticket;
      try {
        ticket = due.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (ticket == null) {
        continue;
      }
      Tally t = ticket.tally();
      byte[] request = ticket.consumer() ? consumerRequest : anonymousRequest;
      busy.set(id, 1);
      answerStarted = false;
      try {
        if (connection != null && connection.closedByPeer()) {
          t.staleConnections.increment();
          connection.close();
          connection = null;
        }
        // At most one retry, as HTTP clients do (RFC 9110, 9.2.2): the request is idempotent, went
        // out on a reused keep-alive connection, and not a byte of an answer came back, so the
        // server closed the connection as the request crossed it (a stopping node closes its idle
        // connections) or died before answering. Counted apart, so the drill still shows them.
        for (int attempt = 0; ; attempt++) {
          if (connection == null) {
            nodeOfConnection.set(id, 0);
            connection = new HttpConnection(null, host, port);
            uses = 0;
          }
          try {
            uses++;
            answerStarted = false;
            HttpConnection.Response response = connection.send(request, true);
            count(id, ticket, response);
            if (connection.closeAfter()) {
              connection.close();
              connection = null;
            }
            break;
          } catch (IOException e) {
            answerStarted = connection.answerStarted();
            boolean retry = attempt == 0 && uses > 1 && !answerStarted;
            connection.close();
            connection = null;
            if (!retry) {
              throw e;
            }
            t.retried.increment();
            t.error("retried: " + e);
          }
        }
      } catch (IOException e) {
        failed(t, ticket, !answerStarted, e);
        if (connection != null) {
          connection.close();
          connection = null;
        }
      } finally {
        busy.set(id, 0);
      }
    }
    if (connection != null) {
      connection.close();
    }
  }

  private void failed(Tally t, Ticket ticket, boolean beforeAnswer, IOException e) {
    t.connectionErrors.increment();
    if (beforeAnswer) {
      t.errorsBeforeAnswer.increment();
    }
    t.error((beforeAnswer ? "failed before the answer: " : "failed during the answer: ") + e);
    if (ticket.consumer()) {
      long now = System.currentTimeMillis();
      t.lastConsumerFailure.accumulateAndGet(now, Math::max);
      unknownByWindow.computeIfAbsent(Math.floorDiv(now / 1000, windowSeconds), k -> new LongAdder()).increment();
    }
  }

  private void count(int id, Ticket ticket, HttpConnection.Response response) {
    Tally t = ticket.tally();
    int status = response.status();
    long now = System.currentTimeMillis();
    if (status >= 200 && status < 300) {
      t.ok.increment();
      Matcher node = NODE_PORT.matcher(response.body());
      if (node.find()) {
        nodeOfConnection.set(id, Integer.parseInt(node.group(1)));
      }
      if (ticket.consumer()) {
        t.consumerOk.increment();
        long window = window(response.rateLimit(), now);
        t.windows.add(window);
        admittedByWindow.computeIfAbsent(window, k -> new LongAdder()).increment();
      }
    } else if (status == 429) {
      t.limited.increment();
    } else if (status == 503 && response.body().contains("urn:tollgate:problem:quota-unavailable")) {
      t.denied.increment();
      if (ticket.consumer()) {
        t.lastConsumerDenied.accumulateAndGet(now, Math::max);
        t.lastConsumerFailure.accumulateAndGet(now, Math::max);
      }
    } else if (status >= 500) {
      t.serverErrors.increment();
      t.error(status + " " + response.body().strip());
      if (ticket.consumer()) {
        t.lastConsumerFailure.accumulateAndGet(now, Math::max);
      }
    } else {
      t.otherStatus.increment();
      t.error(status + " " + response.body().strip());
    }
  }

  /**
   * The id of the window an admitted request was counted in: the node's answer says how many whole
   * seconds, rounded up, were left of it when it decided ({@code t}), so {@code now + t} falls within
   * a second after the window's end.
   */
  private long window(String rateLimit, long nowMillis) {
    if (rateLimit != null) {
      Matcher m = RESET_SECONDS.matcher(rateLimit);
      if (m.find()) {
        double end = nowMillis / 1000.0 + Long.parseLong(m.group(1));
        return (long) Math.floor(end / windowSeconds) - 1;
      }
    }
    withoutRateLimitHeader.increment();
    return Math.floorDiv(nowMillis / 1000, windowSeconds);
  }
}
