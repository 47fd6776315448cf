package dev.tollgate.loadtests.quota;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * How exactly a cluster of real Tollgate nodes keeps one consumer's window limit: starts an
 * embedded PostgreSQL, an upstream, and {@code --nodes} node JVMs on loopback sharing that
 * database; offers one consumer's requests above its limit at a fixed rate (an open model, so a
 * slow answer does not slow the offer), skewed over the nodes; stops the nodes with SIGTERM; and
 * prints, per window, what all nodes together admitted against the limit (from each node's own
 * count of what it admitted from its leases, logged when a window closes), and the share of
 * decisions that waited for a quota entity.
 *
 * <p>Every address is on 127.0.0.1; the run is bounded by {@code --warmup} and {@code --duration}
 * and stops every process it started, also when interrupted. Exit status 0 when every target is
 * met, 1 when one is not, 2 when the run could not be made.
 */
public final class QuotaAccuracy {

  private static final String KEY = "quota-accuracy-key";
  private static final String CONSUMER = "accuracy";
  private static final Pattern WINDOW_LINE =
      Pattern.compile("dev\\.tollgate\\.quota\\.windows - admitted c:" + CONSUMER + " (\\S+) (-?\\d+) (\\d+)$");
  private static final Pattern STATS_LINE = Pattern.compile(
      "Quota decisions on this node: (\\d+), of which (\\d+) waited for an entity and (\\d+) used the local share");
  private static final Pattern DECISIONS_LINE = Pattern.compile(
      "^(\\S+) DEBUG dev\\.tollgate\\.quota\\.decisions - decisions (\\d+) waited (\\d+) local-share (\\d+)$");
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

  /** The run's parameters, from {@code --name value} arguments. */
  record Options(Path jar, int nodes, long limit, Duration per, int rate, int[] weights, Duration warmup,
      Duration duration, List<String> javaOptions, int connections) {

    static Options parse(String[] args) {
      Map<String, String> given = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (!args[i].startsWith("--") || i + 1 == args.length) {
          throw new IllegalArgumentException("arguments: " + args[i] + " (expected: --name value pairs)");
        }
        given.put(args[i].substring(2), args[++i]);
      }
      String weights = given.getOrDefault("skew", "70,20,10");
      int[] w = java.util.Arrays.stream(weights.split(",")).mapToInt(Integer::parseInt).toArray();
      int nodes = Integer.parseInt(given.getOrDefault("nodes", String.valueOf(w.length)));
      if (w.length != nodes) {
        throw new IllegalArgumentException("--skew " + weights + ": " + w.length + " weights (expected: one per node, "
            + nodes + ")");
      }
      Duration per = Duration.ofSeconds(Long.parseLong(given.getOrDefault("per-seconds", "1")));
      return new Options(
          Path.of(given.getOrDefault("jar", "gateway-node/target/tollgate.jar")),
          nodes,
          Long.parseLong(given.getOrDefault("limit", "1000")),
          per,
          Integer.parseInt(given.getOrDefault("rate", "2000")),
          w,
          Duration.ofSeconds(Long.parseLong(given.getOrDefault("warmup", "30"))),
          Duration.ofSeconds(Long.parseLong(given.getOrDefault("duration", "60"))),
          List.of(given.getOrDefault("java-opts", "-XX:+UseParallelGC -Xms128m -Xmx384m").trim().split("\\s+")),
          Integer.parseInt(given.getOrDefault("connections", "32")));
    }
  }

  public static void main(String[] args) {
    dev.tollgate.loadtests.Harness.main("quota-accuracy", args, Options::parse, o -> new QuotaAccuracy(o, System.out)::run);
  }

  private final Options options;
  private final PrintStream out;
  private final List<Process> processes = new ArrayList<>();

  QuotaAccuracy(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  int run() throws Exception {
    if (!Files.isRegularFile(options.jar())) {
      throw new IllegalStateException(options.jar() + " is missing: build it with mvn -B -DskipTests package");
    }
    Path work = Files.createTempDirectory("tollgate-quota-accuracy");
    Thread cleanup = new Thread(this::killAll, "quota-accuracy-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
        LoadUpstream upstream = LoadUpstream.start()) {
      Path config = work.resolve("accuracy.yaml");
      Files.writeString(config, gatewayConfig(upstream.port()));
      Path logback = NodeJvm.writeLogback(work, "dev.tollgate.quota.windows", "dev.tollgate.quota.decisions");
      int[] proxyPorts = new int[options.nodes()];
      int[] clusterPorts = new int[options.nodes()];
      int[] directoryPorts = new int[options.nodes()];
      for (int i = 0; i < options.nodes(); i++) {
        proxyPorts[i] = LoadUpstream.freePort();
        clusterPorts[i] = LoadUpstream.freePort();
        directoryPorts[i] = LoadUpstream.freePort();
      }
      String seeds = "[\"127.0.0.1:" + clusterPorts[0] + "\"]";
      String directoryMembers = java.util.Arrays.stream(directoryPorts).mapToObj(p -> "\"127.0.0.1:" + p + "\"")
          .collect(java.util.stream.Collectors.joining(",", "[", "]"));
      List<Path> logs = new ArrayList<>();
      for (int i = 0; i < options.nodes(); i++) {
        Path log = work.resolve("node-" + (char) ('a' + i) + ".log");
        logs.add(log);
        processes.add(NodeJvm.start(options.jar(), options.javaOptions(), config, logback, log, Map.ofEntries(
            Map.entry("TOLLGATE_PROXY_PORT", String.valueOf(proxyPorts[i])),
            Map.entry("TOLLGATE_ADMIN_PORT", "0"),
            Map.entry("TOLLGATE_MANAGEMENT_PORT", "0"),
            Map.entry("TOLLGATE_METRICS_PORT", "0"),
            Map.entry("TOLLGATE_DIRECTORY_PORT", String.valueOf(directoryPorts[i])),
            Map.entry("TOLLGATE_DIRECTORY_MEMBERS", directoryMembers),
            Map.entry("TOLLGATE_CLUSTER_HOST", "127.0.0.1"),
            Map.entry("TOLLGATE_CLUSTER_PORT", String.valueOf(clusterPorts[i])),
            Map.entry("TOLLGATE_CLUSTER_SEEDS", seeds),
            Map.entry("TOLLGATE_STORAGE_POSTGRES_URL", postgres.getJdbcUrl("postgres", "postgres")),
            Map.entry("TOLLGATE_STORAGE_POSTGRES_USER", "postgres"),
            Map.entry("TOLLGATE_STORAGE_POSTGRES_PASSWORD", "postgres"),
            Map.entry("TOLLGATE_STORAGE_DATA_DIR", work.resolve("data-" + i).toString()))));
      }
      for (int i = 0; i < options.nodes(); i++) {
        NodeJvm.awaitListening(logs.get(i), processes.get(i), Duration.ofSeconds(90));
      }
      out.printf("nodes:     %d JVMs (%s), proxies on 127.0.0.1:%s, one PostgreSQL (embedded) shared by all%n",
          options.nodes(), String.join(" ", options.javaOptions()), join(proxyPorts));
      out.printf("limit:     %d requests per %d s window (durable window, on_unavailable: deny)%n", options.limit(),
          options.per().getSeconds());
      out.printf("offered:   %d req/s for %d s (+%d s warm-up), skewed %s over the nodes%n", options.rate(),
          options.duration().getSeconds(), options.warmup().getSeconds(), join(options.weights()));
      out.printf("logs:      %s%n%n", work);

      Load load = new Load(proxyPorts, options.weights(), options.rate(), options.per(), options.connections(), KEY);
      load.awaitAnswering(Duration.ofSeconds(60));
      load.run(options.warmup(), options.duration());
      for (Process p : processes) {
        p.destroy();
      }
      for (int i = 0; i < processes.size(); i++) {
        if (!processes.get(i).waitFor(60, TimeUnit.SECONDS)) {
          out.printf("node %c did not stop within 60 s of SIGTERM; killed%n", 'a' + i);
          processes.get(i).destroyForcibly();
        }
      }
      return report(load, logs);
    } finally {
      killAll();
      Runtime.getRuntime().removeShutdownHook(cleanup);
    }
  }

  private String gatewayConfig(int upstreamPort) {
    return """
        upstreams:
          - name: backend
            targets:
              - url: http://127.0.0.1:%d
        plans:
          - name: accuracy
            limits:
              - {requests: %d, per: %ds}
            on_unavailable: deny
        consumers:
          - id: %s
            plan: accuracy
            api_keys:
              - key: %s
        routes:
          - name: api
            match:
              paths: [/]
            upstream: backend
        """.formatted(upstreamPort, options.limit(), options.per().getSeconds(), CONSUMER, KEY);
  }

  private void killAll() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** Prints the per-window table and the targets; returns 0 if every target is met, else 1. */
  private int report(Load load, List<Path> logs) throws IOException {
    long perSeconds = options.per().getSeconds();
    // window id -> what each node admitted in it, by its own count
    Map<Long, long[]> admitted = new TreeMap<>();
    long decisions = 0;
    long waited = 0;
    long localShare = 0;
    int stopped = 0;
    // Decisions and waits within the measured span: the nodes' running counts at its end minus at its start.
    long measuredDecisions = 0;
    long measuredWaited = 0;
    int measuredNodes = 0;
    for (int i = 0; i < logs.size(); i++) {
      long[] atStart = null;
      long[] atEnd = null;
      for (String line : Files.readAllLines(logs.get(i), StandardCharsets.UTF_8)) {
        Matcher d = DECISIONS_LINE.matcher(line);
        if (d.find()) {
          long at = Instant.parse(d.group(1)).toEpochMilli();
          long[] counts = {Long.parseLong(d.group(2)), Long.parseLong(d.group(3))};
          if (at <= load.measureStartMillis) {
            atStart = counts;
          }
          if (at <= load.endMillis) {
            atEnd = counts;
          }
        }
        Matcher w = WINDOW_LINE.matcher(line);
        if (w.find()) {
          admitted.computeIfAbsent(Long.parseLong(w.group(2)), k -> new long[logs.size()])[i] += Long.parseLong(w.group(3));
        }
        Matcher s = STATS_LINE.matcher(line);
        if (s.find()) {
          decisions += Long.parseLong(s.group(1));
          waited += Long.parseLong(s.group(2));
          localShare += Long.parseLong(s.group(3));
          stopped++;
        }
      }
      if (atStart != null && atEnd != null) {
        measuredDecisions += atEnd[0] - atStart[0];
        measuredWaited += atEnd[1] - atStart[1];
        measuredNodes++;
      }
    }
    long windowMillis = options.per().toMillis();
    long firstMeasured = -Math.floorDiv(-load.measureStartMillis, windowMillis);
    long lastMeasured = Math.floorDiv(load.endMillis, windowMillis) - 1;
    out.printf("%-9s %8s %8s %-20s %9s %7s %8s  %s%n", "window", "due", "not sent", "200/429/503/other", "admitted",
        "limit", "adm/lim", "admitted per node (by the nodes' own count)");
    double min = Double.MAX_VALUE;
    double max = 0;
    int measured = 0;
    int judged = 0;
    int over = 0;
    long admittedTotal = 0;
    for (long id = firstMeasured; id <= lastMeasured; id++) {
      long[] byNode = admitted.getOrDefault(id, new long[logs.size()]);
      long total = java.util.Arrays.stream(byNode).sum();
      double ratio = (double) total / options.limit();
      long[] client = load.byWindow.getOrDefault(id, new long[Load.KINDS]);
      measured++;
      admittedTotal += total;
      max = Math.max(max, ratio);
      if (total > options.limit()) {
        over++;
      }
      // Utility is judged where the requests that reached the nodes exceeded the limit: a window in
      // which the client could not send enough (every connection of a node busy) says nothing of it.
      boolean demandAbove = client[Load.SENT] > options.limit();
      if (demandAbove) {
        judged++;
        min = Math.min(min, ratio);
      }
      out.printf("%-9s %8d %8d %-20s %9d %7d %8.4f  %s%s%n", TIME.format(Instant.ofEpochSecond(id * perSeconds)),
          client[Load.SENT] + client[Load.NOT_SENT], client[Load.NOT_SENT],
          "%d/%d/%d/%d".formatted(client[Load.OK], client[Load.LIMITED], client[Load.UNAVAILABLE], client[Load.OTHER]),
          total, options.limit(), ratio, join(byNode), demandAbove ? "" : "  (sent at most the limit: not judged)");
    }
    out.println();
    boolean accurate = judged > 0 && over == 0 && min >= 0.98;
    double remoteShare = measuredDecisions == 0 ? 1 : (double) measuredWaited / measuredDecisions;
    boolean local = measuredNodes == logs.size() && remoteShare <= 0.01;
    out.printf("measured windows: %d (those wholly inside the %d s after the warm-up); judged for utility: %d (more"
        + " than the limit sent)%n", measured, options.duration().getSeconds(), judged);
    out.printf("admitted/limit: max %.4f over all measured windows (%d above the limit); min %.4f over the judged;"
        + " mean %.4f over all%n", max, over, judged == 0 ? 0 : min,
        measured == 0 ? 0 : (double) admittedTotal / (measured * options.limit()));
    out.printf("decisions in the measured span (about, from each node's count once a second): %d on %d of %d nodes,"
        + " %d waited for an entity (%.3f %%)%n", measuredDecisions, measuredNodes, logs.size(), measuredWaited,
        100.0 * remoteShare);
    out.printf("decisions in the whole run, warm-up included: %d on %d of %d nodes, %d waited for an entity (%.3f %%),"
        + " %d admitted from a local share%n", decisions, stopped, logs.size(), waited,
        decisions == 0 ? 0.0 : 100.0 * waited / decisions, localShare);
    out.printf("client: %d sent, %d not sent (all %d connections of the node busy), %d failed without an answer%n",
        load.sent.sum(), load.skipped.sum(), options.connections(), load.failed.sum());
    load.failures.forEach((what, n) -> out.printf("  %6d  %s%n", n, what));
    out.printf("target admitted/limit in [0.98, 1.00], never above: %s%n", accurate ? "met" : "NOT met");
    out.printf("target decisions that waited for an entity <= 1 %%: %s%n", local ? "met" : "NOT met");
    return accurate && local ? 0 : 1;
  }

  static String join(int[] values) {
    return java.util.Arrays.stream(values).mapToObj(String::valueOf).collect(Collectors.joining(","));
  }

  static String join(long[] values) {
    return java.util.Arrays.stream(values).mapToObj(String::valueOf).collect(Collectors.joining(" "));
  }
}
