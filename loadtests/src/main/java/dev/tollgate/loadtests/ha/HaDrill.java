package dev.tollgate.loadtests.ha;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import dev.tollgate.loadtests.quota.HttpConnection;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * Failure drills against the local cluster of {@code deploy/local/cluster.sh}, under steady
 * open-model load through HAProxy: (1) a rolling restart of every node, (2) a node killed with
 * SIGKILL, (3) PostgreSQL stopped and started again, (4) the client address through HAProxy's
 * PROXY protocol, as the upstream and the per-IP limit see it. Every scenario counts what it sent
 * and how it was answered, and whether the quota consumer was ever admitted more than its limit in
 * a window; then a table, and exit status 0 when every goal was met, 1 when one was not, 2 when the
 * drill could not be made. The cluster's changes are made by calling {@code cluster.sh}.
 *
 * <p>Every address is on loopback; every wait is bounded.
 */
public final class HaDrill {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** Closed-loop connections of the capacity measurement: enough to keep 2 cores busy. */
  private static final int CAPACITY_CONNECTIONS = 64;

  /** The drill's parameters, from {@code --name value} arguments. */
  record Options(Path clusterScript, int portBase, int rate, double consumerShare, int connections,
      Set<Integer> scenarios, int pgDownSeconds, int warmupSeconds, int capacitySeconds, String apiKey,
      String consumer, String pgPassword, boolean killOldest) {

    static Options parse(String[] args) {
      Map<String, String> given = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (!args[i].startsWith("--") || i + 1 == args.length) {
          throw new IllegalArgumentException("arguments: " + args[i] + " (expected: --name value pairs)");
        }
        given.put(args[i].substring(2), args[++i]);
      }
      Set<Integer> scenarios = Arrays.stream(given.getOrDefault("scenarios", "1,2,3,4").split(","))
          .map(String::trim).filter(s -> !s.isEmpty()).map(Integer::parseInt).collect(Collectors.toCollection(TreeSet::new));
      if (scenarios.isEmpty() || !Set.of(1, 2, 3, 4).containsAll(scenarios)) {
        throw new IllegalArgumentException("--scenarios " + scenarios + " (expected: some of 1,2,3,4)");
      }
      Options o = new Options(
          Path.of(required(given, "cluster-script")),
          Integer.parseInt(given.getOrDefault("port-base", "18500")),
          Integer.parseInt(given.getOrDefault("rate", "0")),
          Double.parseDouble(given.getOrDefault("consumer-share", "0.8")),
          Integer.parseInt(given.getOrDefault("connections", "160")),
          scenarios,
          Integer.parseInt(given.getOrDefault("pg-down-seconds", "60")),
          Integer.parseInt(given.getOrDefault("warmup-seconds", "10")),
          Integer.parseInt(given.getOrDefault("capacity-seconds", "8")),
          given.getOrDefault("api-key", "local-acme-key-5d41402abc4b2a76"),
          given.getOrDefault("consumer", "acme"),
          given.getOrDefault("pg-password", "tollgate"),
          switch (given.getOrDefault("kill", "entity")) {
            case "entity" -> false;
            case "oldest" -> true;
            default -> throw new IllegalArgumentException("--kill " + given.get("kill") + " (expected: entity or oldest)");
          });
      if (o.rate() < 0 || o.consumerShare() < 0 || o.consumerShare() > 1 || o.connections() < 1
          || o.pgDownSeconds() < 1 || o.pgDownSeconds() > 300 || o.warmupSeconds() > 120) {
        throw new IllegalArgumentException("out of range: " + o);
      }
      return o;
    }

    private static String required(Map<String, String> given, String name) {
      String v = given.get(name);
      if (v == null) {
        throw new IllegalArgumentException("--" + name + " is required");
      }
      return v;
    }

    int frontPort() {
      return portBase;
    }

    int proxyPort(int node) {
      return portBase + 10 * node + 1;
    }

    int adminPort(int node) {
      return portBase + 10 * node + 2;
    }

    int remotingPort(int node) {
      return portBase + 10 * node + 5;
    }

    /** The node (1..3) whose remoting port ends the cluster address {@code address}, 0 for none. */
    int nodeOf(String address) {
      for (int n = 1; n <= 3; n++) {
        if (address.endsWith(":" + remotingPort(n))) {
          return n;
        }
      }
      return 0;
    }

    int pgPort() {
      return portBase + 10;
    }
  }

  /** One scenario's outcome: its figures, whether its own goal was met, and what it showed. */
  record Outcome(DrillLoad.Tally tally, boolean overAdmitted, boolean goalMet, List<String> notes) {}

  public static void main(String[] args) {
    dev.tollgate.loadtests.Harness.main("ha-drill", args, Options::parse, o -> new HaDrill(o, System.out)::run);
  }

  private final Options options;
  private final PrintStream out;
  private final HttpClient admin = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final InetAddress loopback = InetAddress.getLoopbackAddress();
  private DrillLoad load;
  private long limit;
  private long windowSeconds;

  HaDrill(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  int run() throws Exception {
    readLimit();
    awaitFront(Duration.ofSeconds(60));
    int rate = options.rate();
    if (rate == 0) {
      // The first round warms the nodes' JIT up (a node just started does about two thirds of what
      // it does later); the second is the figure.
      double cold = measureCapacity();
      double capacity = measureCapacity();
      rate = (int) Math.max(50, Math.round(capacity * 0.7));
      out.printf("capacity:  %.0f req/s (closed loop, %d connections, %d s, anonymous /open through HAProxy,"
          + " after a round of %.0f req/s to warm up); offering 70 %%: %d req/s%n", capacity, CAPACITY_CONNECTIONS,
          options.capacitySeconds(), cold, rate);
    } else {
      out.printf("offering:  %d req/s (RATE)%n", rate);
    }
    out.printf("mix:       %.0f %% consumer %s (limit %d per %d s window, on_unavailable: deny), the rest anonymous /open%n",
        options.consumerShare() * 100, options.consumer(), limit, windowSeconds);

    load = new DrillLoad(loopback, options.frontPort(), rate, options.consumerShare(), options.connections(),
        windowSeconds, options.apiKey());
    List<Outcome> outcomes = new ArrayList<>();
    DrillLoad.Tally warmup = new DrillLoad.Tally("warm-up");
    load.start(warmup);
    try {
      sleep(Duration.ofSeconds(options.warmupSeconds()));
      outcomes.add(new Outcome(warmup, overAdmitted(warmup), true, List.of("steady load before the scenarios")));
      for (int scenario : options.scenarios()) {
        Outcome outcome = switch (scenario) {
          case 1 -> rollingRestart();
          case 2 -> killNode();
          case 3 -> databaseOutage();
          default -> clientAddress();
        };
        outcomes.add(outcome);
        out.printf("%s: %s%n", outcome.tally().name, outcome.goalMet() ? "goal met" : "GOAL MISSED");
      }
    } finally {
      load.stop();
    }
    return report(outcomes);
  }

  // ---- scenarios ------------------------------------------------------------------------------

  /** (1) Each node in turn: SIGTERM, wait for it to exit, start it, wait until ready. Goal: no failed request. */
  private Outcome rollingRestart() throws Exception {
    DrillLoad.Tally t = begin("1 rolling restart");
    List<String> notes = new ArrayList<>();
    for (int node = 1; node <= 3; node++) {
      long started = System.nanoTime();
      cluster("restart-node", String.valueOf(node));
      notes.add("node " + node + " restarted and ready in " + seconds(System.nanoTime() - started) + " s");
      // HAProxy takes it back after two good checks (250 ms apart); give it that and a margin.
      sleep(Duration.ofSeconds(2));
    }
    sleep(Duration.ofSeconds(3));
    endScenario(t);
    boolean failures = t.fiveHundreds() > 0 || t.connectionErrors.sum() > 0;
    addErrorNotes(t, notes);
    boolean over = overAdmitted(t);
    return new Outcome(t, over, !failures && !over && t.sent.sum() > 0, notes);
  }

  /**
   * (2) SIGKILL the node hosting the consumer's entity (else, or with {@code --kill oldest}, the
   * oldest node, with the cluster singletons), watch how long the consumer's quota decisions fail, then start the node again.
   * Goal: no more failed requests (connection errors, 5xx other than the declared deny; a request
   * retried once on a reused connection does not count) than were out on that node, and decisions
   * served again within 10 s.
   */
  private Outcome killNode() throws Exception {
    DrillLoad.Tally t = begin("2 kill -9 one node");
    List<String> notes = new ArrayList<>();
    // Early in a window, while the consumer still has budget: its nodes then ask its entity for
    // leases every few hundred milliseconds. Late in a window they refuse locally and would not notice.
    long second = System.currentTimeMillis() / 1000;
    sleepUntil((Math.floorDiv(second + windowSeconds - 3, windowSeconds) * windowSeconds + 3) * 1000);
    int oldest = oldestNode();
    EntityHost host = entityNode(oldest);
    int victim = host.node() > 0 && !options.killOldest() ? host.node() : oldest;
    int inFlight = load.inFlightOn(options.proxyPort(victim));
    int unknown = load.inFlightOnUnknownNodes();
    int sessions = haproxySessions(victim);
    long killedAt = System.currentTimeMillis();
    cluster("kill-node", String.valueOf(victim));
    notes.add("killed node " + victim + " (" + host.why()
        + (victim == oldest ? "; the oldest member, with the cluster singletons" : "") + ") at "
        + Instant.ofEpochMilli(killedAt) + "; requests out on it at that moment: " + inFlight
        + " known (and " + unknown + " on new connections, whose node the generator learns from their first answer);"
        + " client connections HAProxy had open to it: " + (sessions < 0 ? "unknown" : String.valueOf(sessions)));
    int survivor = victim == 1 ? 2 : 1;
    long deadline = killedAt + 45_000;
    // GET /cluster also asks every shard region, and waits seconds for the dead node's: one call
    // at a time would see the removal seconds late. So the views are asked for every 250 ms, a few
    // at once, and the removal dates from the first call that saw it (its view is read when the
    // call arrives).
    AtomicLong removedSince = new AtomicLong();
    AtomicInteger viewsOut = new AtomicInteger();
    long removedAt = 0;
    while (System.currentTimeMillis() < deadline) {
      long now = System.currentTimeMillis();
      if (removedSince.get() == 0 && viewsOut.get() < 6) {
        viewsOut.incrementAndGet();
        clusterViewAsync(survivor).whenComplete((view, failure) -> {
          viewsOut.decrementAndGet();
          if (failure == null && memberGone(view, victim)) {
            removedSince.accumulateAndGet(now, (a, b) -> a == 0 ? b : Math.min(a, b));
          }
        });
      }
      removedAt = removedSince.get();
      long quietSince = Math.max(killedAt, t.lastConsumerFailure.get());
      if (removedAt > 0 && now - quietSince >= 5_000) {
        break;
      }
      sleep(Duration.ofMillis(250));
    }
    long lastFailure = t.lastConsumerFailure.get();
    double recovery = lastFailure == 0 ? 0 : (lastFailure - killedAt) / 1000.0;
    notes.add(String.format("consumer's last failure (5xx or connection error) %.1f s after the kill (0: none);"
        + " node %d %s", recovery, victim, removedAt == 0 ? "NOT removed from the cluster within 45 s"
            : String.format("removed from the cluster %.1f s after the kill", (removedAt - killedAt) / 1000.0)));
    long failed = t.connectionErrors.sum() + t.serverErrors.sum();
    notes.add("answers lost (connection errors, non-deny 5xx and requests retried once): "
        + (failed + t.retried.sum()) + " (" + t.retried.sum() + " retried, " + failed + " failed) vs. " + inFlight
        + " out on the node; 503 deny while its entity was unreachable: " + t.denied.sum());
    long started = System.nanoTime();
    cluster("start-node", String.valueOf(victim));
    notes.add("node " + victim + " started again and ready in " + seconds(System.nanoTime() - started) + " s");
    sleep(Duration.ofSeconds(3));
    endScenario(t);
    addErrorNotes(t, notes);
    boolean over = overAdmitted(t);
    // At most one request at a time on a connection: HAProxy's connections to the node bound what was out on it.
    long outOnNode = Math.max(inFlight, sessions);
    return new Outcome(t, over, !over && recovery <= 10 && removedAt > 0 && failed <= outOnNode, notes);
  }

  /**
   * The client connections HAProxy has open to node {@code node} now ({@code scur} of its
   * {@code show stat} on the local cluster's stats socket), or -1 if it cannot tell.
   */
  private int haproxySessions(int node) {
    String dir = System.getenv("TOLLGATE_LOCAL_DIR");
    Path state = dir != null && !dir.isEmpty() ? Path.of(dir) : options.clusterScript().getParent().resolve(".state");
    try (SocketChannel socket = SocketChannel.open(UnixDomainSocketAddress.of(state.resolve("haproxy.sock")))) {
      socket.write(ByteBuffer.wrap("show stat\n".getBytes(StandardCharsets.US_ASCII)));
      java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
      ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
      // HAProxy answers one command and closes; the answer is a few kilobytes.
      while (socket.read(buffer) > 0 && answer.size() < 1 << 20) {
        answer.write(buffer.array(), 0, buffer.position());
        buffer.clear();
      }
      for (String line : answer.toString(StandardCharsets.US_ASCII).split("\n")) {
        String[] fields = line.split(",", -1);
        if (fields.length > 4 && fields[0].equals("tollgate") && fields[1].equals("node" + node)) {
          return Integer.parseInt(fields[4]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not known
    }
    return -1;
  }

  /**
   * (3) PostgreSQL stopped for a while, then started. Goal: no proxy error (connection errors and
   * 5xx other than the plan's declared deny), no over-admission, and afterwards the stored usage of a
   * window equals what the consumer was admitted in it.
   */
  private Outcome databaseOutage() throws Exception {
    DrillLoad.Tally t = begin("3 PostgreSQL down " + options.pgDownSeconds() + " s");
    List<String> notes = new ArrayList<>();
    long stoppedAt = System.currentTimeMillis();
    cluster("pg-stop");
    long firstDenied = 0;
    long until = stoppedAt + options.pgDownSeconds() * 1000L;
    while (System.currentTimeMillis() < until) {
      if (firstDenied == 0 && t.lastConsumerDenied.get() > 0) {
        firstDenied = t.lastConsumerDenied.get();
      }
      sleep(Duration.ofMillis(200));
    }
    long startedAt = System.currentTimeMillis();
    cluster("pg-start");
    long deadline = System.currentTimeMillis() + 90_000;
    while (System.currentTimeMillis() < deadline
        && System.currentTimeMillis() - Math.max(startedAt, t.lastConsumerDenied.get()) < 5_000) {
      sleep(Duration.ofMillis(200));
    }
    long lastDenied = t.lastConsumerDenied.get();
    notes.add(String.format("consumer denied (503) from %s to %s; PostgreSQL stopped at 0 s, started at %.1f s",
        firstDenied == 0 ? "-" : String.format("%.1f s", (firstDenied - stoppedAt) / 1000.0),
        lastDenied == 0 ? "-" : String.format("%.1f s", (lastDenied - stoppedAt) / 1000.0),
        (startedAt - stoppedAt) / 1000.0));
    boolean usageMatches = checkStoredUsage(notes);
    endScenario(t);
    addErrorNotes(t, notes);
    boolean proxyErrors = t.connectionErrors.sum() + t.serverErrors.sum() > 0;
    boolean over = overAdmitted(t);
    return new Outcome(t, over, !proxyErrors && !over && usageMatches, notes);
  }

  /**
   * After recovery: in a window that began after it, stops the consumer's traffic part way, waits
   * until the nodes' leases are returned or expired, and compares what the entity holds (admin API)
   * and what is stored (the durable_state row, CBOR) with what the consumer was admitted.
   */
  private boolean checkStoredUsage(List<String> notes) throws Exception {
    long now = System.currentTimeMillis() / 1000;
    long window = Math.floorDiv(now, windowSeconds) + 1;
    long pauseAt = window * windowSeconds + Math.min(10, windowSeconds / 3);
    sleepUntil(pauseAt * 1000);
    load.pauseConsumer(true);
    try {
      // Leases last 5 s and idle nodes return theirs after 1 s: after 7 s none is outstanding.
      sleep(Duration.ofSeconds(7));
      long admitted = count(load.admittedByWindow, window);
      long unknown = count(load.unknownByWindow, window);
      JsonNode usage = usage();
      long consumed = usage.path("consumed").asLong(-1);
      long leasedOut = usage.path("leased_out").asLong(-1);
      long stored = storedConsumed(window);
      boolean ok = leasedOut == 0 && consumed >= admitted && consumed <= admitted + unknown && stored == consumed;
      notes.add(String.format("window %s: admitted %d (as the client counted; %d failed unanswered), admin API consumed %d"
              + " leased_out %d, stored in durable_state consumed %d: %s", Instant.ofEpochSecond(window * windowSeconds),
          admitted, unknown, consumed, leasedOut, stored, ok ? "equal" : "DIFFERENT"));
      return ok;
    } finally {
      load.pauseConsumer(false);
    }
  }

  /**
   * (4) The client address through HAProxy: the upstream must see 127.0.0.2 for a client on
   * 127.0.0.2, and the per-IP limit must count 127.0.0.1 and 127.0.0.2 apart.
   */
  private Outcome clientAddress() throws Exception {
    DrillLoad.Tally t = begin("4 client IP via PROXY");
    List<String> notes = new ArrayList<>();
    InetAddress one = InetAddress.getByName("127.0.0.1");
    InetAddress two = InetAddress.getByName("127.0.0.2");
    boolean ok = true;
    for (InetAddress source : List.of(one, two)) {
      String body = get(source, "/open/client-ip").body();
      String ip = source.getHostAddress();
      boolean seen = body.contains("\"x_forwarded_for\":\"" + ip + "\"") && body.contains("\"forwarded\":\"for=" + ip + ";");
      notes.add("from " + ip + " the upstream saw " + body.strip() + ": " + (seen ? "right" : "WRONG"));
      ok &= seen;
    }
    // Spend 127.0.0.1's bucket (5 at once; fewer are left if this ran within the last minute).
    int admittedOne = 0;
    int refusedOne = 0;
    for (int i = 0; i < 8 && refusedOne == 0; i++) {
      int status = get(one, "/ip/limit").status();
      admittedOne += status == 200 ? 1 : 0;
      refusedOne += status == 429 ? 1 : 0;
    }
    HttpConnection.Response fromTwo = get(two, "/ip/limit");
    int oneAgain = get(one, "/ip/limit").status();
    boolean apart = refusedOne == 1 && admittedOne <= 5 && fromTwo.status() == 200 && oneAgain == 429;
    notes.add(String.format("per-IP limit (5 at once): 127.0.0.1 admitted %d then 429; 127.0.0.2 then got %d (%s);"
        + " 127.0.0.1 again %d: %s", admittedOne, fromTwo.status(), fromTwo.rateLimit(), oneAgain,
        apart ? "counted apart" : "NOT COUNTED APART"));
    ok &= apart;
    sleep(Duration.ofSeconds(3));
    endScenario(t);
    addErrorNotes(t, notes);
    boolean failures = t.fiveHundreds() > 0 || t.connectionErrors.sum() > 0;
    boolean over = overAdmitted(t);
    return new Outcome(t, over, ok && !failures && !over, notes);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private DrillLoad.Tally begin(String name) {
    out.printf("%n== %s (%s)%n", name, Instant.now());
    DrillLoad.Tally t = new DrillLoad.Tally(name);
    load.countInto(t);
    return t;
  }

  /** Answers of the scenario's last requests arrive after it: a new tally takes the next ones. */
  private void endScenario(DrillLoad.Tally t) {
    load.countInto(new DrillLoad.Tally("between scenarios"));
    sleep(Duration.ofMillis(500));
  }

  private boolean overAdmitted(DrillLoad.Tally t) {
    return t.windows.stream().anyMatch(w -> count(load.admittedByWindow, w) > limit);
  }

  private static long count(Map<Long, LongAdder> counts, long window) {
    LongAdder n = counts.get(window);
    return n == null ? 0 : n.sum();
  }

  private void addErrorNotes(DrillLoad.Tally t, List<String> notes) {
    if (t.notSent.sum() > 0) {
      notes.add("due but not sent (every connection busy): " + t.notSent.sum());
    }
    if (t.staleConnections.sum() > 0) {
      notes.add("idle connections found closed by the server before reuse (replaced, nothing sent on them): "
          + t.staleConnections.sum());
    }
    if (t.otherStatus.sum() > 0) {
      notes.add("other statuses: " + t.otherStatus.sum());
    }
    if (t.connectionErrors.sum() > 0) {
      notes.add("connection errors before any byte of the answer: " + t.errorsBeforeAnswer.sum() + " of "
          + t.connectionErrors.sum());
    }
    t.errorKinds.forEach((kind, n) -> notes.add(n + " x " + kind));
  }

  private void readLimit() throws Exception {
    JsonNode usage = usage();
    limit = usage.path("requests").asLong(0);
    windowSeconds = switch (usage.path("per").asText()) {
      case "minute" -> 60;
      case "second" -> 1;
      case "hour" -> 3600;
      default -> throw new IllegalStateException("the drill needs the consumer's plan to be one window of a"
          + " second, a minute or an hour; the admin API says " + usage);
    };
    if (limit <= 0) {
      throw new IllegalStateException("no limit for consumer " + options.consumer() + ": " + usage);
    }
  }

  /** The consumer's first plan limit as any ready node's admin API reads it from its entity. */
  private JsonNode usage() throws Exception {
    Exception last = null;
    for (int node = 1; node <= 3; node++) {
      try {
        HttpResponse<String> r = admin.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + options.adminPort(node) + "/consumers/" + options.consumer() + "/usage"))
            .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return JSON.readTree(r.body()).path("limits").path(0);
        }
        last = new IOException("node " + node + ": " + r.statusCode() + " " + r.body());
      } catch (IOException e) {
        last = e;
      }
    }
    throw new IllegalStateException("no node's admin API answered the consumer's usage", last);
  }

  /**
   * What the consumer spent in {@code window} as stored: the durable_state row of its entity,
   * decoded from CBOR, its consumed tokens plus those of the leases it still lists (all expired by
   * the time this is asked); -1 when no book of that window is stored.
   */
  private long storedConsumed(long window) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + options.pgPort() + "/tollgate";
    try (Connection db = DriverManager.getConnection(url, "tollgate", options.pgPassword());
        PreparedStatement q = db.prepareStatement("SELECT state_payload FROM durable_state WHERE persistence_id = ?")) {
      q.setString(1, "ConsumerQuota|c:" + options.consumer());
      try (ResultSet rs = q.executeQuery()) {
        if (!rs.next()) {
          return -1;
        }
        JsonNode state = new CBORMapper().readTree(rs.getBytes(1));
        for (JsonNode book : state.path("windows")) {
          if (book.path("windowId").asLong() == window) {
            // A book is stored when a lease is granted or returned; a lease spent whole is never
            // returned, so the stored book still lists it, expired, and its tokens count as spent.
            long held = 0;
            for (JsonNode lease : book.path("outstanding")) {
              held += lease.path("tokens").asLong();
            }
            return book.path("consumed").asLong() + held;
          }
        }
        return -1;
      }
    }
  }

  /**
   * The node hosting the consumer's entity, as the admin API's usage names it ({@code entity_node});
   * else a node hosting ConsumerQuota entities, the oldest among them if it is one; 0 if none can be told.
   */
  private EntityHost entityNode(int oldest) {
    try {
      int n = options.nodeOf(usage().path("entity_node").asText(""));
      if (n > 0) {
        return new EntityHost(n, "it hosted the consumer's entity");
      }
    } catch (Exception e) {
      // fall back on the members' entity counts
    }
    for (int node = 1; node <= 3; node++) {
      try {
        List<Integer> hosts = new ArrayList<>();
        for (JsonNode m : clusterView(node).path("members")) {
          int n = options.nodeOf(m.path("address").asText());
          if (n > 0 && m.path("sharding").path("ConsumerQuota").path("entities").asInt(0) > 0) {
            hosts.add(n);
          }
        }
        return hosts.isEmpty() ? new EntityHost(0, "no node hosted quota entities")
            : new EntityHost(hosts.contains(oldest) ? oldest : hosts.get(0), "it hosted quota entities");
      } catch (Exception e) {
        // ask the next node
      }
    }
    return new EntityHost(0, "no node hosted quota entities");
  }

  /** The node to kill, 0 for none found, and what the drill knew of it. */
  private record EntityHost(int node, String why) {}

  private int oldestNode() throws Exception {
    for (int node = 1; node <= 3; node++) {
      try {
        int oldest = options.nodeOf(clusterView(node).path("oldest").asText(""));
        if (oldest > 0) {
          return oldest;
        }
      } catch (IOException e) {
        // ask the next node
      }
    }
    return 1;
  }

  /** Whether a node's view of the cluster has lost {@code gone} and every other member is up and reachable. */
  private boolean memberGone(JsonNode view, int gone) {
    boolean any = false;
    for (JsonNode m : view.path("members")) {
      if (options.nodeOf(m.path("address").asText()) == gone) {
        return false;
      }
      if (!"Up".equals(m.path("status").asText()) || !m.path("reachable").asBoolean()) {
        return false;
      }
      any = true;
    }
    return any;
  }

  private java.util.concurrent.CompletableFuture<JsonNode> clusterViewAsync(int node) {
    return admin.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + options.adminPort(node)
            + "/cluster")).timeout(Duration.ofSeconds(12)).build(), HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> {
          if (r.statusCode() != 200) {
            throw new java.util.concurrent.CompletionException(
                new IOException("GET /cluster on node " + node + ": " + r.statusCode()));
          }
          try {
            return JSON.readTree(r.body());
          } catch (IOException e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        });
  }

  private JsonNode clusterView(int node) throws IOException, InterruptedException {
    try {
      return clusterViewAsync(node).get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }
  }

  private HttpConnection.Response get(InetAddress source, String path) throws IOException {
    try (HttpConnection c = new HttpConnection(source, loopback, options.frontPort())) {
      return c.send(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII), true);
    }
  }

  private void awaitFront(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        if (get(null, "/open/ready").status() == 200) {
          return;
        }
      } catch (IOException e) {
        // not yet
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("HAProxy on 127.0.0.1:" + options.frontPort() + " did not answer 200 within "
            + timeout.getSeconds() + " s");
      }
      sleep(Duration.ofMillis(250));
    }
  }

  /** Closed loop on the anonymous route: what the cluster completes per second with every connection busy. */
  private double measureCapacity() throws Exception {
    LongAdder done = new LongAdder();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.capacitySeconds());
    byte[] request = "GET /open/capacity HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    List<Thread> threads = new ArrayList<>();
    int connections = CAPACITY_CONNECTIONS;
    for (int c = 0; c < connections; c++) {
      Thread th = new Thread(() -> {
        HttpConnection connection = null;
        while (System.nanoTime() < end) {
          try {
            if (connection == null) {
              connection = new HttpConnection(null, loopback, options.frontPort());
            }
            if (connection.send(request, false).status() == 200) {
              done.increment();
            }
          } catch (IOException e) {
            if (connection != null) {
              connection.close();
            }
            connection = null;
          }
        }
        if (connection != null) {
          connection.close();
        }
      }, "capacity-" + c);
      th.setDaemon(true);
      th.start();
      threads.add(th);
    }
    for (Thread th : threads) {
      th.join(TimeUnit.SECONDS.toMillis(options.capacitySeconds() + 15));
    }
    return done.sum() / (double) options.capacitySeconds();
  }

  /** Runs {@code cluster.sh ARGS}, its output on ours, for at most 4 minutes. */
  private void cluster(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(options.clusterScript().toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT)
        .start();
    if (!p.waitFor(4, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException("cluster.sh " + String.join(" ", args) + " did not finish within 4 minutes");
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("cluster.sh " + String.join(" ", args) + " failed with status " + p.exitValue());
    }
  }

  private int report(List<Outcome> outcomes) {
    out.printf("%n%-26s | %8s | %8s | %7s | %-16s | %11s | %7s | %-14s | %s%n", "scenario", "sent", "2xx", "429",
        "5xx", "conn errors", "retried", "over-admitted?", "goal met?");
    out.println("-".repeat(26) + "-+-" + "-".repeat(8) + "-+-" + "-".repeat(8) + "-+-" + "-".repeat(7) + "-+-"
        + "-".repeat(16) + "-+-" + "-".repeat(11) + "-+-" + "-".repeat(7) + "-+-" + "-".repeat(14) + "-+-"
        + "-".repeat(9));
    boolean all = true;
    for (Outcome o : outcomes) {
      DrillLoad.Tally t = o.tally();
      String fiveHundreds = t.denied.sum() == 0 ? String.valueOf(t.fiveHundreds())
          : t.fiveHundreds() + " (" + t.denied.sum() + " deny)";
      boolean isGoal = !t.name.equals("warm-up");
      out.printf("%-26s | %8d | %8d | %7d | %-16s | %11d | %7d | %-14s | %s%n", t.name, t.sent.sum(), t.ok.sum(),
          t.limited.sum(), fiveHundreds, t.connectionErrors.sum(), t.retried.sum(), o.overAdmitted() ? "YES" : "no",
          isGoal ? (o.goalMet() ? "yes" : "NO") : "-");
      all &= o.goalMet();
    }
    out.println();
    for (Outcome o : outcomes) {
      out.println(o.tally().name + ":");
      o.notes().forEach(n -> out.println("  - " + n));
    }
    long worst = load.admittedByWindow.values().stream().mapToLong(LongAdder::sum).max().orElse(0);
    out.printf("%nconsumer windows seen: %d, most admitted in one: %d of %d%s%n", load.admittedByWindow.size(), worst,
        limit, load.withoutRateLimitHeader.sum() > 0
            ? " (" + load.withoutRateLimitHeader.sum() + " admitted answers without a RateLimit header, counted by the clock)"
            : "");
    out.println(all ? "every goal met" : "a goal was missed");
    return all ? 0 : 1;
  }

  private static String seconds(long nanos) {
    return String.format("%.1f", nanos / 1e9);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void sleepUntil(long epochMillis) {
    long wait = epochMillis - System.currentTimeMillis();
    if (wait > 0) {
      sleep(Duration.ofMillis(wait));
    }
  }
}
