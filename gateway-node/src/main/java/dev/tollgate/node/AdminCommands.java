package dev.tollgate.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The commands that talk to a running node's admin API: {@code apply}, {@code status} (the config
 * version, the cluster's members and shards), {@code versions} and {@code rollback}. They print for a terminal and exit 0 on success, 1 when the
 * API refused or could not be reached.
 */
final class AdminCommands {

  private AdminCommands() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the admin API is and how to prove the right to use it. */
  static final class AdminOptions {
    @Option(names = "--admin", paramLabel = "URL", defaultValue = "${env:TOLLGATE_ADMIN_URL:-http://127.0.0.1:8081}",
        description = "The node's admin API (default: $TOLLGATE_ADMIN_URL, else ${DEFAULT-VALUE}).")
    String admin;

    @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:TOLLGATE_ADMIN_TOKEN}",
        description = "The admin API's bearer token (default: $TOLLGATE_ADMIN_TOKEN).")
    String token;

    PrintStream out = System.out;
    PrintStream err = System.err;

    /** Sends a request; null (after saying why) when the API cannot be reached. */
    HttpResponse<String> send(String method, String path, String contentType, byte[] body) throws InterruptedException {
      String base = admin.endsWith("/") ? admin.substring(0, admin.length() - 1) : admin;
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
      if (token != null && !token.isEmpty()) {
        b.header("Authorization", "Bearer " + token);
      }
      if (contentType != null) {
        b.header("Content-Type", contentType);
      }
      b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
      try {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
            .send(b.build(), HttpResponse.BodyHandlers.ofString());
      } catch (ConnectException e) {
        err.println("Cannot reach the admin API at " + base + " (connection refused): is the node running, and is"
            + " --admin its tollgate.admin.host and port?");
        return null;
      } catch (IOException | IllegalArgumentException e) {
        err.println("Cannot reach the admin API at " + base + ": " + e.getMessage());
        return null;
      }
    }

    /**
     * Sends a request and hands a 200's JSON to {@code onOk}; any other answer is printed as a
     * refusal. 0 on success, 1 when refused or unreachable.
     */
    int call(String method, String path, String contentType, byte[] body, java.util.function.Consumer<JsonNode> onOk)
        throws InterruptedException {
      HttpResponse<String> r = send(method, path, contentType, body);
      if (r == null) {
        return 1;
      }
      if (r.statusCode() != 200) {
        return refused(r);
      }
      onOk.accept(parse(r.body()));
      return 0;
    }

    /** Prints a problem answer readably; always 1. */
    int refused(HttpResponse<String> r) {
      JsonNode problem = parse(r.body());
      if (r.statusCode() == 401) {
        err.println("The admin API refused the request (401): " + text(problem, "detail",
            token == null ? "no token was given (--token or $TOLLGATE_ADMIN_TOKEN)" : "the token is not valid"));
        return 1;
      }
      err.println(text(problem, "title", "Refused") + " (" + r.statusCode() + "): " + text(problem, "detail", r.body()));
      if (problem != null && problem.has("errors")) {
        problem.get("errors").forEach(e -> err.println("  " + e.asText()));
      }
      return 1;
    }
  }

  static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      return null;
    }
  }

  static String text(JsonNode node, String field, String otherwise) {
    return node != null && node.hasNonNull(field) ? node.get(field).asText() : otherwise;
  }

  static String describe(JsonNode v) {
    return "version " + v.get("version").asLong() + ", applied " + text(v, "applied_at", "?") + " by "
        + text(v, "applied_by", "?") + (v.has("rollback_of") ? " (a rollback to version " + v.get("rollback_of").asLong() + ")" : "")
        + ", digest " + text(v, "digest", "?").substring(0, Math.min(12, text(v, "digest", "?").length()));
  }

  @Command(name = "apply", mixinStandardHelpOptions = true,
      description = "Applies a config file to the cluster through a node's admin API: validated first, then every node serves it.")
  static final class Apply implements Callable<Integer> {
    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The whole config, YAML or JSON.")
    Path file;

    @Option(names = "--dry-run", description = "Only validate, on the node: nothing is applied.")
    boolean dryRun;

    @Mixin
    AdminOptions api = new AdminOptions();

    @Override
    public Integer call() throws Exception {
      byte[] body;
      try {
        body = Files.readAllBytes(file);
      } catch (IOException e) {
        api.err.println("Cannot read " + file + ": " + e.getMessage());
        return 1;
      }
      String type = file.toString().endsWith(".json") ? "application/json" : "application/yaml";
      return api.call("PUT", "/config" + (dryRun ? "?dry_run=true" : ""), type, body, answer -> {
        if (dryRun) {
          api.out.println(file + " is valid: " + answer.get("routes").asInt() + " routes, "
              + answer.get("upstreams").asInt() + " upstreams. Nothing was applied.");
        } else if (answer.get("changed").asBoolean()) {
          api.out.println("Applied " + file + " as " + describe(answer) + ". Every node serves it within a second.");
        } else {
          api.out.println("No change: " + file + " is the cluster's " + describe(answer) + " already.");
        }
      });
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Shows the cluster's current config version, and its members with their shards, as this node sees them.")
  static final class Status implements Callable<Integer> {
    @Mixin
    AdminOptions api = new AdminOptions();

    @Override
    public Integer call() throws Exception {
      HttpResponse<String> config = api.send("GET", "/config", null, null);
      if (config == null) {
        return 1;
      }
      int code = 0;
      if (config.statusCode() == 200) {
        api.out.println("Config: " + describe(parse(config.body())));
      } else {
        code = api.refused(config);
      }
      return Math.max(code, api.call("GET", "/cluster", null, null, view -> printCluster(api.out, view)));
    }
  }

  /** {@code GET /cluster} for a terminal: one line per member, with its shards and entities per entity type. */
  static void printCluster(PrintStream out, JsonNode view) {
    JsonNode members = view.path("members");
    out.println("Cluster: " + members.size() + (members.size() == 1 ? " member" : " members") + ", as "
        + text(view, "self", "?") + " sees it; leader " + text(view, "leader", "none") + ", oldest "
        + text(view, "oldest", "none"));
    int width = "MEMBER".length();
    for (JsonNode m : members) {
      width = Math.max(width, text(m, "address", "").length() + 2);
    }
    String row = "  %-" + width + "s  %-20s  %-9s  %-16s  %s%n";
    out.printf(row, "MEMBER", "STATUS", "REACHABLE", "ROLES", "SHARDS");
    for (JsonNode m : members) {
      List<String> roles = new java.util.ArrayList<>();
      m.path("roles").forEach(r -> roles.add(r.asText()));
      List<String> shards = new java.util.ArrayList<>();
      m.path("sharding").properties().forEach(e -> {
        JsonNode t = e.getValue();
        shards.add(t.path("answered").asBoolean()
            ? e.getKey() + " " + count(t.path("shards").asLong(), "shard") + ", " + count(t.path("entities").asLong(), "entity")
                + (t.path("shards_unanswered").asLong() > 0 ? " (" + t.path("shards_unanswered").asLong() + " shards silent)" : "")
            : e.getKey() + ": " + text(t, "reason", "no answer"));
      });
      out.printf(row, text(m, "address", "?") + (m.path("self").asBoolean() ? " *" : ""), text(m, "status", "?")
          + (m.path("leader").asBoolean() ? ", leader" : "") + (m.path("oldest").asBoolean() ? ", oldest" : ""),
          m.path("reachable").asBoolean() ? "yes" : "NO", String.join(",", roles), String.join("; ", shards));
    }
    out.println("  (* this node)");
  }

  private static String count(long n, String what) {
    return n + " " + (n == 1 ? what : what.equals("entity") ? "entities" : what + "s");
  }

  @Command(name = "versions", mixinStandardHelpOptions = true, description = "Lists every config version, oldest first.")
  static final class Versions implements Callable<Integer> {
    @Mixin
    AdminOptions api = new AdminOptions();

    @Override
    public Integer call() throws Exception {
      return api.call("GET", "/config/versions", null, null, versions -> {
        api.out.printf("%-8s %-24s %-24s %-12s %s%n", "VERSION", "APPLIED AT", "BY", "DIGEST", "NOTE");
        for (JsonNode v : versions) {
          api.out.printf("%-8d %-24s %-24s %-12s %s%n", v.get("version").asLong(), text(v, "applied_at", ""),
              text(v, "applied_by", ""), text(v, "digest", "").substring(0, 12),
              v.has("rollback_of") ? "rollback to " + v.get("rollback_of").asLong() : "");
        }
      });
    }
  }

  @Command(name = "rollback", mixinStandardHelpOptions = true,
      description = "Applies the document of an earlier version again, as a new version.")
  static final class Rollback implements Callable<Integer> {
    @Parameters(paramLabel = "VERSION", description = "The version to go back to.")
    long version;

    @Mixin
    AdminOptions api = new AdminOptions();

    @Override
    public Integer call() throws Exception {
      return api.call("POST", "/config/rollback/" + version, null, null, answer -> api.out.println(
          answer.get("changed").asBoolean()
              ? "Rolled back: " + describe(answer) + ". Every node serves it within a second."
              : "No change: version " + version + "'s document is the current one (" + describe(answer) + ")."));
    }
  }
}
