package dev.tollgate.loadtests.quota;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How much heap one node spends on the quotas of many callers active within a minute: starts a
 * node JVM (a cluster of one on H2) whose anonymous callers, counted per client IP, meet a plan
 * with a token bucket and a durable daily window; sends one request from each of {@code
 * --callers} distinct client addresses (in {@code X-Forwarded-For}, which the node trusts from
 * 127.0.0.1) within {@code --seconds}; and compares the live heap, measured by a full-GC class
 * histogram, before and after. Every caller then holds a quota entity and a node-side lease state
 * (neither is passivated or forgotten within the two minutes of the defaults).
 */
public final class QuotaMemory {

  private static final Pattern TOTAL = Pattern.compile("^Total\\s+(\\d+)\\s+(\\d+)");
  private static final Pattern ROW = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");

  public static void main(String[] args) throws Exception {
    Map<String, String> given = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      given.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    Path jar = Path.of(given.getOrDefault("jar", "gateway-node/target/tollgate.jar"));
    int callers = Integer.parseInt(given.getOrDefault("callers", "100000"));
    int seconds = Integer.parseInt(given.getOrDefault("seconds", "60"));
    List<String> javaOptions = List.of(given.getOrDefault("java-opts", "-XX:+UseParallelGC -Xms1g -Xmx1g").split("\\s+"));
    System.exit(new QuotaMemory(System.out).run(jar, callers, seconds, javaOptions, 32));
  }

  private final PrintStream out;

  QuotaMemory(PrintStream out) {
    this.out = out;
  }

  int run(Path jar, int callers, int seconds, List<String> javaOptions, int connections) throws Exception {
    Path work = Files.createTempDirectory("tollgate-quota-memory");
    Process node = null;
    try (LoadUpstream upstream = LoadUpstream.start()) {
      Path config = work.resolve("memory.yaml");
      Files.writeString(config, """
          upstreams:
            - name: backend
              targets:
                - url: http://127.0.0.1:%d
          plans:
            - name: per-caller
              limits:
                - {requests: 100, per: 1s, burst: 100}   # a token bucket
                - {requests: 10000, per: day}            # a durable window
          anonymous:
            plan: per-caller
          routes:
            - name: api
              match:
                paths: [/]
              upstream: backend
          """.formatted(upstream.port()));
      int port = LoadUpstream.freePort();
      Path log = work.resolve("node.log");
      node = NodeJvm.start(jar, javaOptions, config, NodeJvm.writeLogback(work), log, Map.of(
          "TOLLGATE_PROXY_PORT", String.valueOf(port),
          "TOLLGATE_PROXY_TRUSTED_PROXIES", "[\"127.0.0.1/32\"]",
          "TOLLGATE_CLUSTER_PORT", String.valueOf(LoadUpstream.freePort()),
          "TOLLGATE_STORAGE_DATA_DIR", work.resolve("data").toString()));
      NodeJvm.awaitListening(log, node, Duration.ofSeconds(90));
      out.printf("node:    one JVM (%s), H2 under %s%n", String.join(" ", javaOptions), work);
      out.printf("plan:    per client IP, a bucket {100/1s, burst 100} and a window {10000/day}%n");

      // Warm-up: the same path for a few callers, so that what follows measures callers, not JIT and start-up.
      Tally warm = send(port, 0, 2_000, 200, 10, connections);
      out.printf("warm-up: 2000 requests from 200 addresses: %s%n", warm);
      Map<String, long[]> before = histogram(node.pid());
      Tally load = send(port, 1_000_000, callers, callers, seconds, connections);
      out.printf("load:    %d requests from %d distinct addresses in %d s: %s%n", callers, callers, seconds, load);
      Map<String, long[]> after = histogram(node.pid());
      long grown = after.get("Total")[1] - before.get("Total")[1];
      out.printf("%nlive heap after a full GC: %.1f MiB before, %.1f MiB after: %.1f MiB more, %d bytes per caller%n",
          before.get("Total")[1] / 1048576.0, after.get("Total")[1] / 1048576.0, grown / 1048576.0, grown / callers);
      out.println("what grew most (bytes, instances per caller, class):");
      after.entrySet().stream()
          .filter(e -> !e.getKey().equals("Total"))
          .map(e -> Map.entry(e.getKey(), new long[] {
              e.getValue()[1] - before.getOrDefault(e.getKey(), new long[2])[1],
              e.getValue()[0] - before.getOrDefault(e.getKey(), new long[2])[0]}))
          .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
          .limit(15)
          .forEach(e -> out.printf("  %12d  %6.2f  %s%n", e.getValue()[0], (double) e.getValue()[1] / callers, e.getKey()));
      return load.ok.sum() == callers ? 0 : 1;
    } finally {
      if (node != null) {
        node.destroy();
        if (!node.waitFor(60, TimeUnit.SECONDS)) {
          node.destroyForcibly();
        }
      }
    }
  }

  /** How requests were answered. */
  record Tally(LongAdder ok, LongAdder other, LongAdder failed) {
    Tally() {
      this(new LongAdder(), new LongAdder(), new LongAdder());
    }

    @Override
    public String toString() {
      return ok.sum() + " answered 200, " + other.sum() + " another status, " + failed.sum() + " without an answer";
    }
  }

  /**
   * Sends {@code requests} requests over {@code connections} keep-alive connections, paced to take
   * {@code seconds}, request {@code i} from client address number {@code first + i % addresses}.
   */
  private static Tally send(int port, int first, int requests, int addresses, int seconds, int connections)
      throws InterruptedException {
    Tally tally = new Tally();
    List<Thread> threads = new ArrayList<>();
    long start = System.nanoTime();
    double interval = seconds * 1e9 / requests;
    for (int c = 0; c < connections; c++) {
      int lane = c;
      Thread t = new Thread(() -> {
        HttpConnection connection = null;
        for (int i = lane; i < requests; i += connections) {
          long wait = start + (long) (i * interval) - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
          int n = first + i % addresses;
          byte[] request = ("GET /memory HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 10." + (n >> 16 & 255) + "."
              + (n >> 8 & 255) + "." + (n & 255) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
          try {
            if (connection == null) {
              connection = new HttpConnection(port);
            }
            (connection.exchange(request) == 200 ? tally.ok : tally.other).increment();
          } catch (IOException e) {
            tally.failed.increment();
            if (connection != null) {
              connection.close();
              connection = null;
            }
          }
        }
        if (connection != null) {
          connection.close();
        }
      }, "memory-load-" + c);
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    return tally;
  }

  /** The node's live objects by class (instances, bytes), from a class histogram, which runs a full GC first. */
  private static Map<String, long[]> histogram(long pid) throws Exception {
    Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
        String.valueOf(pid), "GC.class_histogram").redirectErrorStream(true).start();
    String text = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!jcmd.waitFor(120, TimeUnit.SECONDS) || jcmd.exitValue() != 0) {
      throw new IllegalStateException("jcmd GC.class_histogram failed: " + text);
    }
    Map<String, long[]> classes = new HashMap<>();
    for (String line : text.split("\n")) {
      Matcher row = ROW.matcher(line);
      if (row.find()) {
        classes.merge(row.group(3), new long[] {Long.parseLong(row.group(1)), Long.parseLong(row.group(2))},
            (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
      }
      Matcher total = TOTAL.matcher(line);
      if (total.find()) {
        classes.put("Total", new long[] {Long.parseLong(total.group(1)), Long.parseLong(total.group(2))});
      }
    }
    if (!classes.containsKey("Total")) {
      throw new IllegalStateException("no Total line in the class histogram: " + text);
    }
    return classes;
  }
}
