package dev.tollgate.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of one node (ports, limits, pools), from HOCON: {@code reference.conf} defaults, an
 * optional file, {@code TOLLGATE_...} environment variables and {@code -D} system properties. See
 * {@link NodeSettingsLoader}.
 */
public record NodeSettings(
    Proxy proxy, UpstreamPool upstreamPool, Cluster cluster, Storage storage, Quota quota, Directory directory,
    Admin admin, Duration shutdownGrace, Management management, AccessLog accessLog, Metrics metrics) {

  public NodeSettings {
    Objects.requireNonNull(proxy, "proxy");
    Objects.requireNonNull(upstreamPool, "upstreamPool");
    Objects.requireNonNull(cluster, "cluster");
    Objects.requireNonNull(storage, "storage");
    Objects.requireNonNull(quota, "quota");
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(admin, "admin");
    Objects.requireNonNull(shutdownGrace, "shutdownGrace");
    Objects.requireNonNull(management, "management");
    Objects.requireNonNull(accessLog, "accessLog");
    Objects.requireNonNull(metrics, "metrics");
  }

  /**
   * The Prometheus endpoint, {@code GET /metrics}, and how often its figures are brought up to date.
   *
   * @param enabled whether the node records metrics and serves them at all
   * @param port 0 picks a free one
   * @param interval how often Kamon takes a snapshot that {@code /metrics} shows; keep it at or below
   *     the Prometheus scrape interval
   */
  public record Metrics(boolean enabled, String host, int port, Duration interval) {
    public Metrics {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(interval, "interval");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("interval must be positive");
      }
    }

    public Metrics withEnabled(boolean e) {
      return new Metrics(e, host, port, interval);
    }

    public Metrics withPort(int p) {
      return new Metrics(enabled, host, p, interval);
    }

    public Metrics withInterval(Duration i) {
      return new Metrics(enabled, host, port, i);
    }
  }

  /**
   * Pekko Management's listener, which serves {@code /alive} and {@code /ready} for balancers and
   * orchestrators, and how long a stopping node stays up answering {@code /ready} with 503 before it
   * stops accepting.
   *
   * @param port 0 picks a free one
   * @param readyDelay {@code tollgate.shutdown.ready-delay}: time for balancers to notice the 503
   */
  public record Management(String host, int port, Duration readyDelay) {
    public Management {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(readyDelay, "readyDelay");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      if (readyDelay.isNegative()) {
        throw new IllegalArgumentException("readyDelay must not be negative");
      }
    }

    public Management withPort(int p) {
      return new Management(host, p, readyDelay);
    }

    public Management withReadyDelay(Duration d) {
      return new Management(host, port, d);
    }
  }

  /**
   * The access log: one line per request, written by one thread of its own.
   *
   * @param enabled whether lines are written at all
   * @param format {@code json} (one object per line) or {@code text} (one human-readable line)
   * @param destination {@code stdout}, or the path of a file that lines are appended to
   * @param includeQuery whether the logged path carries the request's query string
   * @param queueSize lines waiting for the writer at most; beyond it, lines are dropped and counted
   */
  public record AccessLog(boolean enabled, Format format, String destination, boolean includeQuery, int queueSize) {

    /** The destination that means standard output. */
    public static final String STDOUT = "stdout";

    public static final AccessLog DEFAULT = new AccessLog(true, Format.JSON, STDOUT, false, 8192);

    /** How a line is written. */
    public enum Format { JSON, TEXT }

    public AccessLog {
      Objects.requireNonNull(format, "format");
      Objects.requireNonNull(destination, "destination");
      if (destination.isBlank()) {
        throw new IllegalArgumentException("destination is blank");
      }
      if (queueSize < 1) {
        throw new IllegalArgumentException("queueSize must be at least 1");
      }
    }

    public AccessLog withEnabled(boolean e) {
      return new AccessLog(e, format, destination, includeQuery, queueSize);
    }

    public AccessLog withFormat(Format f) {
      return new AccessLog(enabled, f, destination, includeQuery, queueSize);
    }

    public AccessLog withDestination(String d) {
      return new AccessLog(enabled, format, d, includeQuery, queueSize);
    }

    public AccessLog withIncludeQuery(boolean q) {
      return new AccessLog(enabled, format, destination, q, queueSize);
    }

    public AccessLog withQueueSize(int q) {
      return new AccessLog(enabled, format, destination, includeQuery, q);
    }
  }

  /**
   * Where durable state lives: an embedded H2 file under {@code dataDir}, or, when {@code
   * postgresUrl} is set, a PostgreSQL database the nodes of a cluster share.
   */
  public record Storage(
      java.nio.file.Path dataDir, String postgresUrl, String postgresUser, String postgresPassword, int maxConnections) {
    public Storage {
      Objects.requireNonNull(dataDir, "dataDir");
      Objects.requireNonNull(postgresUrl, "postgresUrl");
      Objects.requireNonNull(postgresUser, "postgresUser");
      Objects.requireNonNull(postgresPassword, "postgresPassword");
      if (maxConnections < 1) {
        throw new IllegalArgumentException("maxConnections must be at least 1");
      }
    }

    public boolean usesPostgres() {
      return !postgresUrl.isEmpty();
    }

    public Storage withDataDir(java.nio.file.Path d) {
      return new Storage(d, postgresUrl, postgresUser, postgresPassword, maxConnections);
    }

    public Storage withPostgres(String url, String user, String password) {
      return new Storage(dataDir, url, user, password, maxConnections);
    }

    @Override
    public String toString() {
      return "Storage[dataDir=" + dataDir + ", postgresUrl=" + postgresUrl + ", postgresUser=" + postgresUser
          + ", maxConnections=" + maxConnections + "]"; // never the password
    }
  }

  /**
   * How a node deals with quota entities.
   *
   * @param askTimeout how long a request waits for an answer of an entity; after two unanswered asks in a
   *     row {@code on_unavailable} applies
   * @param unavailableBackoff during an outage, the least time between the starts of two asks to
   *     an entity (the unanswered asks that began it included)
   * @param idleRelease a lease unused this long is returned
   * @param passivateAfter entities asked nothing this long leave memory
   */
  public record Quota(Duration askTimeout, Duration unavailableBackoff, Duration idleRelease, Duration passivateAfter) {
    public Quota {
      Objects.requireNonNull(askTimeout, "askTimeout");
      Objects.requireNonNull(unavailableBackoff, "unavailableBackoff");
      Objects.requireNonNull(idleRelease, "idleRelease");
      Objects.requireNonNull(passivateAfter, "passivateAfter");
    }
  }

  /**
   * The node's member of the consumer and API key directory (Hazelcast).
   *
   * <p>Invariant: {@code members} and {@code serviceDns} are not both given.
   *
   * @param port the member's port; 0 picks a free one
   * @param members the members to join as {@code host:port}; empty means the seeds' hosts at this port
   * @param backupCount synchronous copies of each entry on other members
   * @param nearCacheSize entries each near cache keeps at most
   * @param serviceDns a DNS name (such as a Kubernetes headless Service's) whose every address is a
   *     member at {@code port}, found through Hazelcast's Kubernetes discovery in DNS mode; empty: not used
   */
  public record Directory(int port, List<String> members, int backupCount, int nearCacheSize, String serviceDns) {
    public Directory {
      members = List.copyOf(Objects.requireNonNull(members, "members"));
      Objects.requireNonNull(serviceDns, "serviceDns");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      if (!members.isEmpty() && !serviceDns.isEmpty()) {
        throw new IllegalArgumentException("members and serviceDns are both given");
      }
    }

    /** Members from the list (or the seeds), no DNS name. */
    public Directory(int port, List<String> members, int backupCount, int nearCacheSize) {
      this(port, members, backupCount, nearCacheSize, "");
    }

    public Directory withPort(int p) {
      return new Directory(p, members, backupCount, nearCacheSize, serviceDns);
    }

    public Directory withMembers(List<String> m) {
      return new Directory(port, m, backupCount, nearCacheSize, serviceDns);
    }

    public Directory withServiceDns(String d) {
      return new Directory(port, members, backupCount, nearCacheSize, d);
    }
  }

  /**
   * The admin API listener, which manages the directory's consumers and API keys and the cluster's
   * config, and shows the cluster and consumers' usage.
   *
   * <p>Invariant: off loopback, a token is required. An admin API that anyone on the network can
   * reach without one could hand out keys to every route, so such settings cannot be made.
   *
   * @param host the address to bind; {@code localhost} and {@code 127.x.x.x} / {@code ::1} literals
   *     are loopback, every other host (names included) needs a token
   * @param port its port; 0 picks a free one
   * @param token a bearer token requests may carry, named {@value #TOKEN_NAME}; empty means none
   * @param tokens more bearer tokens by name ({@code tollgate.admin.tokens}); the history of the
   *     cluster's config says which name applied each version. No two names share a token
   * @param clusterTimeout how long the admin API waits for an answer from the cluster (shard
   *     regions, quota entities)
   */
  public record Admin(String host, int port, String token, Map<String, String> tokens, Duration clusterTimeout) {

    /** Printable ASCII without spaces, as an {@code Authorization} header carries it. */
    public static final java.util.regex.Pattern TOKEN = java.util.regex.Pattern.compile("[!-~]{16,}");

    static final String TOKEN_EXPECTED = "empty, or at least 16 printable ASCII characters without spaces";
    static final String NAMED_TOKEN_EXPECTED = "at least 16 printable ASCII characters without spaces";

    /** A token's name: a HOCON key without quotes or dots, and never a secret. */
    public static final java.util.regex.Pattern TOKEN_NAME_PATTERN = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

    static final String TOKEN_NAME_EXPECTED = "a name of 1 to 64 letters, digits, '_' or '-', starting with a letter or digit";

    /** The name of {@code tollgate.admin.token}. */
    public static final String TOKEN_NAME = "admin";

    /** What the config history says applied a version when no token is required (loopback). */
    public static final String NO_TOKEN_NAME = "admin-api";

    public static final Duration DEFAULT_CLUSTER_TIMEOUT = Duration.ofSeconds(5);

    public Admin {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(token, "token");
      Objects.requireNonNull(clusterTimeout, "clusterTimeout");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      if (!token.isEmpty() && !TOKEN.matcher(token).matches()) {
        throw new IllegalArgumentException("tollgate.admin.token: (hidden) (expected: " + TOKEN_EXPECTED + ")");
      }
      java.util.Set<String> seen = new java.util.HashSet<>();
      if (!token.isEmpty()) {
        seen.add(token);
      }
      for (Map.Entry<String, String> e : Objects.requireNonNull(tokens, "tokens").entrySet()) {
        String problem = tokenNameProblem(e.getKey());
        if (problem != null) {
          throw new IllegalArgumentException("tollgate.admin.tokens: \"" + e.getKey() + "\" (expected: " + problem + ")");
        }
        if (!TOKEN.matcher(e.getValue()).matches()) {
          throw new IllegalArgumentException("tollgate.admin.tokens." + e.getKey() + ": (hidden) (expected: "
              + NAMED_TOKEN_EXPECTED + ")");
        }
        if (!seen.add(e.getValue())) {
          throw new IllegalArgumentException("tollgate.admin.tokens." + e.getKey() + ": (hidden) (expected: a token"
              + " of this name alone; another name has the same one)");
        }
      }
      tokens = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(tokens));
      if (clusterTimeout.isNegative() || clusterTimeout.isZero()) {
        throw new IllegalArgumentException("tollgate.admin.cluster-timeout: " + clusterTimeout
            + " (expected: a positive duration)");
      }
      if (token.isEmpty() && tokens.isEmpty() && !isLoopback(host)) {
        throw new IllegalArgumentException("tollgate.admin.token: " + missingToken(host, ""));
      }
    }

    /** A single token, no named ones, the default cluster timeout. */
    public Admin(String host, int port, String token) {
      this(host, port, token, Map.of(), DEFAULT_CLUSTER_TIMEOUT);
    }

    /** What is wrong with {@code name} as a token's name, or null if nothing is. */
    static String tokenNameProblem(String name) {
      if (!TOKEN_NAME_PATTERN.matcher(name).matches()) {
        return TOKEN_NAME_EXPECTED;
      }
      if (name.equals(TOKEN_NAME) || name.equals(NO_TOKEN_NAME)) {
        return "a name other than " + TOKEN_NAME + " (the name of tollgate.admin.token) and " + NO_TOKEN_NAME
            + " (what the config history says when no token is required)";
      }
      return null;
    }

    public boolean requiresToken() {
      return !token.isEmpty() || !tokens.isEmpty();
    }

    /** Every token by its name: {@code tollgate.admin.token} as {@value #TOKEN_NAME}, then the named ones. */
    public Map<String, String> namedTokens() {
      Map<String, String> all = new java.util.LinkedHashMap<>();
      if (!token.isEmpty()) {
        all.put(TOKEN_NAME, token);
      }
      all.putAll(tokens);
      return java.util.Collections.unmodifiableMap(all);
    }

    /** Whether {@code host} names the loopback interface; decided without a DNS lookup. */
    public static boolean isLoopback(String host) {
      String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
      if (h.equalsIgnoreCase("localhost")) {
        return true;
      }
      if (h.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
        String[] octets = h.split("\\.");
        for (String o : octets) {
          if (Integer.parseInt(o) > 255) {
            return false;
          }
        }
        return Integer.parseInt(octets[0]) == 127;
      }
      if (h.indexOf(':') >= 0 && h.matches("[0-9A-Fa-f:.]+")) {
        try {
          // An IPv6 literal: InetAddress parses it without asking DNS.
          return java.net.InetAddress.getByName(h).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
          return false;
        }
      }
      return false;
    }

    /**
     * What is wrong with a non-loopback host without a token, as the loader reports it too.
     *
     * @param from where the host came from, such as " from environment variable TOLLGATE_ADMIN_HOST"
     */
    static String missingToken(String host, String from) {
      return "empty, but tollgate.admin.host \"" + host + "\"" + from + " is not a loopback address (expected: a token of at"
          + " least 16 printable ASCII characters without spaces, which admin requests then carry as"
          + " Authorization: Bearer <token>, or named tokens in tollgate.admin.tokens; or a loopback"
          + " tollgate.admin.host such as \"127.0.0.1\")";
    }

    public Admin withHost(String h) {
      return new Admin(h, port, token, tokens, clusterTimeout);
    }

    public Admin withPort(int p) {
      return new Admin(host, p, token, tokens, clusterTimeout);
    }

    public Admin withToken(String t) {
      return new Admin(host, port, t, tokens, clusterTimeout);
    }

    public Admin withTokens(Map<String, String> t) {
      return new Admin(host, port, token, t, clusterTimeout);
    }

    public Admin withClusterTimeout(Duration d) {
      return new Admin(host, port, token, tokens, d);
    }

    @Override
    public String toString() {
      return "Admin[host=" + host + ", port=" + port + ", token=" + (token.isEmpty() ? "none" : "(hidden)")
          + ", tokens=" + tokens.keySet() + " (hidden), clusterTimeout=" + clusterTimeout + "]";
    }
  }

  /**
   * Membership of the node in the Pekko cluster.
   *
   * <p>Invariant: with a discovery other than {@link Discovery#SEEDS}, there are no seeds; the
   * cluster forms through Pekko's cluster bootstrap instead.
   *
   * @param host the address of this node's remoting as other nodes reach it
   * @param port its port; 0 picks a free one
   * @param seeds other members as {@code host:port}; empty means this node forms a cluster of one
   *     (with {@link Discovery#SEEDS})
   * @param downAfter how long a member stays unreachable before the split-brain resolver downs it
   * @param removalMargin how long after a member is downed its shards and singletons wait before
   *     they start elsewhere (Pekko's {@code down-removal-margin})
   * @param downCrashed whether a member whose remoting port refuses connections (its process is
   *     gone) is downed at once, before the failure detector's verdict and {@code downAfter}, while
   *     the members still reachable are a majority
   * @param discovery how the node finds the others
   * @param bootstrap the cluster bootstrap's settings, used unless {@code discovery} is seeds
   */
  public record Cluster(String host, int port, List<String> seeds, Duration downAfter, Duration removalMargin,
      boolean downCrashed, Discovery discovery, Bootstrap bootstrap) {

    /** The default of {@code tollgate.cluster.removal-margin}. */
    public static final Duration DEFAULT_REMOVAL_MARGIN = Duration.ofSeconds(1);

    /** {@code tollgate.cluster.discovery}: how a node finds the other members. */
    public enum Discovery {
      /** The static {@code tollgate.cluster.seeds}, or a cluster of one without them. */
      SEEDS("seeds"),
      /** Cluster bootstrap over Pekko Management, its contact points the pods the Kubernetes API lists. */
      KUBERNETES_API("kubernetes-api"),
      /** Cluster bootstrap, its contact points the static {@code tollgate.cluster.bootstrap.contact-points}. */
      CONFIG("config");

      private final String setting;

      Discovery(String setting) {
        this.setting = setting;
      }

      /** The value as {@code tollgate.cluster.discovery} spells it. */
      public String setting() {
        return setting;
      }

      /** The discovery a setting names, if any. */
      public static java.util.Optional<Discovery> of(String setting) {
        return java.util.Arrays.stream(values()).filter(d -> d.setting.equals(setting)).findFirst();
      }

      @Override
      public String toString() {
        return setting;
      }
    }

    public Cluster {
      Objects.requireNonNull(host, "host");
      seeds = List.copyOf(Objects.requireNonNull(seeds, "seeds"));
      Objects.requireNonNull(downAfter, "downAfter");
      Objects.requireNonNull(removalMargin, "removalMargin");
      Objects.requireNonNull(discovery, "discovery");
      Objects.requireNonNull(bootstrap, "bootstrap");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      if (discovery != Discovery.SEEDS && !seeds.isEmpty()) {
        throw new IllegalArgumentException("seeds must be empty with discovery " + discovery);
      }
      if (discovery == Discovery.CONFIG && bootstrap.contactPoints().size() < bootstrap.requiredContactPoints()) {
        throw new IllegalArgumentException("discovery config needs at least " + bootstrap.requiredContactPoints()
            + " contact points, has " + bootstrap.contactPoints().size());
      }
    }

    /** Static seeds (or none), the default bootstrap settings unused. */
    public Cluster(String host, int port, List<String> seeds, Duration downAfter) {
      this(host, port, seeds, downAfter, DEFAULT_REMOVAL_MARGIN, true, Discovery.SEEDS, Bootstrap.DEFAULT);
    }

    /** Whether the cluster forms through Pekko's cluster bootstrap rather than seeds. */
    public boolean bootstraps() {
      return discovery != Discovery.SEEDS;
    }

    public Cluster withPort(int p) {
      return new Cluster(host, p, seeds, downAfter, removalMargin, downCrashed, discovery, bootstrap);
    }

    public Cluster withSeeds(List<String> s) {
      return new Cluster(host, port, s, downAfter, removalMargin, downCrashed, discovery, bootstrap);
    }

    public Cluster withDownAfter(Duration d) {
      return new Cluster(host, port, seeds, d, removalMargin, downCrashed, discovery, bootstrap);
    }

    public Cluster withRemovalMargin(Duration m) {
      return new Cluster(host, port, seeds, downAfter, m, downCrashed, discovery, bootstrap);
    }

    public Cluster withDownCrashed(boolean on) {
      return new Cluster(host, port, seeds, downAfter, removalMargin, on, discovery, bootstrap);
    }

    public Cluster withDiscovery(Discovery d, Bootstrap b) {
      return new Cluster(host, port, seeds, downAfter, removalMargin, downCrashed, d, b);
    }
  }

  /**
   * Pekko's cluster bootstrap: each node asks the contact points (Pekko Management endpoints of the
   * nodes that discovery finds) whether a cluster exists; if none does once {@code
   * requiredContactPoints} of them have answered the same for a while, the node with the lowest
   * address forms it and the others join.
   *
   * @param serviceName the name the contact points are looked up by; with {@code kubernetes-api} it
   *     fills the {@code %s} of {@code podLabelSelector}
   * @param requiredContactPoints contact points that must be found before a new cluster is formed
   * @param podLabelSelector the Kubernetes label selector of the cluster's pods, {@code %s} standing
   *     for the service name
   * @param contactPoints with {@code config}: the contact points as {@code host:managementPort}
   */
  public record Bootstrap(String serviceName, int requiredContactPoints, String podLabelSelector,
      List<String> contactPoints) {

    public static final Bootstrap DEFAULT = new Bootstrap("tollgate", 2, "app=%s", List.of());

    public Bootstrap {
      Objects.requireNonNull(serviceName, "serviceName");
      Objects.requireNonNull(podLabelSelector, "podLabelSelector");
      contactPoints = List.copyOf(Objects.requireNonNull(contactPoints, "contactPoints"));
      if (serviceName.isBlank()) {
        throw new IllegalArgumentException("serviceName is blank");
      }
      if (requiredContactPoints < 1) {
        throw new IllegalArgumentException("requiredContactPoints must be at least 1");
      }
    }

    public Bootstrap withContactPoints(List<String> c) {
      return new Bootstrap(serviceName, requiredContactPoints, podLabelSelector, c);
    }

    public Bootstrap withRequiredContactPoints(int n) {
      return new Bootstrap(serviceName, n, podLabelSelector, contactPoints);
    }
  }

  /**
   * The proxy listener and the limits every request meets.
   *
   * @param maxBodyBytes the default body limit of routes that set none (413 above it)
   * @param maxHeaderBytes the largest total size of all request header lines (431 above it)
   * @param maxUriLength the longest request target (414 above it)
   * @param headerReadTimeout a request head must arrive whole within this time of its first byte (408)
   * @param idleTimeout a client connection idle this long is closed
   * @param trustedProxies peers whose {@code X-Forwarded-*} and {@code Forwarded} headers are believed
   * @param requestIdHeader the header that carries the request id
   * @param proxyProtocol whether connections start with a PROXY protocol header, and from whom
   */
  public record Proxy(
      String host,
      int port,
      long maxBodyBytes,
      int maxHeaderBytes,
      int maxUriLength,
      Duration headerReadTimeout,
      Duration idleTimeout,
      List<CidrRange> trustedProxies,
      String requestIdHeader,
      ProxyProtocol proxyProtocol) {

    public Proxy {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(headerReadTimeout, "headerReadTimeout");
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      trustedProxies = List.copyOf(Objects.requireNonNull(trustedProxies, "trustedProxies"));
      Objects.requireNonNull(requestIdHeader, "requestIdHeader");
      Objects.requireNonNull(proxyProtocol, "proxyProtocol");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
    }

    public Proxy withHost(String h) {
      return new Proxy(h, port, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader, proxyProtocol);
    }

    public Proxy withPort(int p) {
      return new Proxy(host, p, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader, proxyProtocol);
    }

    public Proxy withHeaderReadTimeout(Duration d) {
      return new Proxy(host, port, maxBodyBytes, maxHeaderBytes, maxUriLength, d, idleTimeout, trustedProxies, requestIdHeader, proxyProtocol);
    }

    public Proxy withMaxBodyBytes(long b) {
      return new Proxy(host, port, b, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader, proxyProtocol);
    }

    public Proxy withTrustedProxies(List<CidrRange> t) {
      return new Proxy(host, port, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, t, requestIdHeader, proxyProtocol);
    }

    public Proxy withProxyProtocol(ProxyProtocol p) {
      return new Proxy(host, port, maxBodyBytes, maxHeaderBytes, maxUriLength, headerReadTimeout, idleTimeout, trustedProxies, requestIdHeader, p);
    }
  }

  /**
   * The PROXY protocol (HAProxy's, versions 1 and 2) on the proxy listener: when enabled, every
   * connection must come from a peer in {@code trusted} and start with a PROXY header, whose source
   * address then stands for the client.
   *
   * @param trusted peers allowed to connect and send the header; others are refused before a byte is read
   * @param headerTimeout a connection without a complete header this long after it was accepted is closed
   */
  public record ProxyProtocol(boolean enabled, List<CidrRange> trusted, Duration headerTimeout) {

    public static final ProxyProtocol OFF = new ProxyProtocol(false,
        List.of(CidrRange.parse("127.0.0.1/32"), CidrRange.parse("::1/128")), Duration.ofSeconds(5));

    public ProxyProtocol {
      trusted = List.copyOf(Objects.requireNonNull(trusted, "trusted"));
      Objects.requireNonNull(headerTimeout, "headerTimeout");
      if (headerTimeout.isNegative() || headerTimeout.isZero()) {
        throw new IllegalArgumentException("headerTimeout must be positive");
      }
    }

    /** Whether {@code address} may open connections that start with a PROXY header. */
    public boolean isTrusted(java.net.InetAddress address) {
      for (CidrRange r : trusted) {
        if (r.contains(address)) {
          return true;
        }
      }
      return false;
    }

    public ProxyProtocol withEnabled(boolean e) {
      return new ProxyProtocol(e, trusted, headerTimeout);
    }

    public ProxyProtocol withTrusted(List<CidrRange> t) {
      return new ProxyProtocol(enabled, t, headerTimeout);
    }

    public ProxyProtocol withHeaderTimeout(Duration d) {
      return new ProxyProtocol(enabled, trusted, d);
    }
  }

  /**
   * Connection pools towards upstream targets, one pool per target.
   *
   * @param maxConnections open connections per target at most
   * @param queueSize requests waiting for a connection per target at most; beyond it, 503
   */
  public record UpstreamPool(int maxConnections, int queueSize) {
    public UpstreamPool {
      if (maxConnections < 1) {
        throw new IllegalArgumentException("maxConnections must be at least 1");
      }
      if (queueSize < 1) {
        throw new IllegalArgumentException("queueSize must be at least 1");
      }
    }
  }

  public NodeSettings withProxy(Proxy p) {
    return new NodeSettings(p, upstreamPool, cluster, storage, quota, directory, admin, shutdownGrace, management, accessLog, metrics);
  }

  public NodeSettings withCluster(Cluster c) {
    return new NodeSettings(proxy, upstreamPool, c, storage, quota, directory, admin, shutdownGrace, management, accessLog, metrics);
  }

  public NodeSettings withStorage(Storage s) {
    return new NodeSettings(proxy, upstreamPool, cluster, s, quota, directory, admin, shutdownGrace, management, accessLog, metrics);
  }

  public NodeSettings withQuota(Quota q) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, q, directory, admin, shutdownGrace, management, accessLog, metrics);
  }

  public NodeSettings withDirectory(Directory d) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, quota, d, admin, shutdownGrace, management, accessLog, metrics);
  }

  public NodeSettings withAdmin(Admin a) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, quota, directory, a, shutdownGrace, management, accessLog, metrics);
  }

  public NodeSettings withShutdownGrace(Duration d) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, quota, directory, admin, d, management, accessLog, metrics);
  }

  public NodeSettings withManagement(Management m) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, quota, directory, admin, shutdownGrace, m, accessLog, metrics);
  }

  public NodeSettings withMetrics(Metrics m) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, quota, directory, admin, shutdownGrace, management, accessLog, m);
  }

  public NodeSettings withAccessLog(AccessLog a) {
    return new NodeSettings(proxy, upstreamPool, cluster, storage, quota, directory, admin, shutdownGrace, management, a, metrics);
  }
}
