package dev.tollgate.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tollgate apply, status, versions, rollback} against a real node's admin API. */
class AdminCommandsTest {

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int code = new CommandLine(new Main()).execute(args);
      return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static String doc(String path) {
    return """
        upstreams:
          - name: backend
            targets: [{url: "http://127.0.0.1:9"}]
        routes:
          - name: only
            match: {paths: [%s]}
            upstream: backend
        """.formatted(path);
  }

  @Test
  void theCommandsApplyShowAndRollBackTheClustersConfig(@TempDir Path dir) throws Exception {
    NodeSettings s = NodeSettingsLoader.defaults();
    NodeSettings settings = s.withProxy(s.proxy().withHost("127.0.0.1").withPort(0)).withCluster(s.cluster().withPort(0))
        .withDirectory(s.directory().withPort(0)).withAdmin(s.admin().withPort(0))
        .withManagement(s.management().withPort(0).withReadyDelay(java.time.Duration.ZERO))
        .withMetrics(s.metrics().withPort(0))
        .withStorage(s.storage().withDataDir(dir.resolve("data")));
    GatewayNode node = GatewayNode.start(settings, ConfigFactory.parseString("pekko.loglevel = WARNING"),
        new GatewayNode.ConfigSeed(doc("/one"), "gateway.yaml")).toCompletableFuture().join();
    try {
      String admin = "http://127.0.0.1:" + node.adminAddress().orElseThrow().getPort();
      Path two = dir.resolve("two.yaml");
      Files.writeString(two, doc("/two"));
      Path bad = dir.resolve("bad.yaml");
      Files.writeString(bad, doc("/two").replace("upstream: backend", "upstream: ech"));

      Result status = run("status", "--admin", admin);
      assertThat(status.code()).isZero();
      assertThat(status.out()).contains("Config: version 1, applied ", " by seed:gateway.yaml, digest ");
      String self = org.apache.pekko.cluster.typed.Cluster.get(node.system()).selfMember().address().toString();
      assertThat(status.out()).contains("Cluster: 1 member, as " + self + " sees it; leader " + self + ", oldest " + self);
      assertThat(status.out().lines().filter(l -> l.startsWith("  " + self + " *")))
          .singleElement().asString().matches("  \\S+ \\*  +Up, leader, oldest +yes +dc-default +ConsumerQuota [0-9]+ shards?,"
              + " [0-9]+ entit(y|ies); UpstreamGuard [0-9]+ shards?, [0-9]+ entit(y|ies)");

      Result refused = run("apply", "-f", bad.toString(), "--admin", admin);
      assertThat(refused.code()).isEqualTo(1);
      assertThat(refused.err()).contains("Invalid config (400)", "Nothing was applied",
          "routes[0].upstream: \"ech\" (expected: one of the upstream names: backend)");

      Result dry = run("apply", "-f", two.toString(), "--dry-run", "--admin", admin);
      assertThat(dry.out()).contains("is valid: 1 routes, 1 upstreams. Nothing was applied.");

      Result applied = run("apply", "-f", two.toString(), "--admin", admin);
      assertThat(applied.code()).isZero();
      assertThat(applied.out()).contains("Applied " + two + " as version 2, applied ", " by admin-api");
      assertThat(run("apply", "-f", two.toString(), "--admin", admin).out()).contains("No change: ", "version 2");

      Result rollback = run("rollback", "1", "--admin", admin);
      assertThat(rollback.code()).isZero();
      assertThat(rollback.out()).contains("Rolled back: version 3", "(a rollback to version 1)");
      assertThat(run("rollback", "42", "--admin", admin).err()).contains("No such config version (404)",
          "there is no version 42 (versions are 1 to 3)");

      Result versions = run("versions", "--admin", admin);
      // (The node runs in this JVM, so its log lines are in the output too.)
      assertThat(versions.out().lines().filter(l -> l.matches("[0-9]+ +20[0-9-]+T.*"))).hasSize(3);
      assertThat(versions.out()).contains("VERSION", "seed:gateway.yaml", "admin-api", "rollback to 1");

      Result unreachable = run("status", "--admin", "http://127.0.0.1:9");
      assertThat(unreachable.code()).isEqualTo(1);
      assertThat(unreachable.err()).contains("Cannot reach the admin API at http://127.0.0.1:9");
    } finally {
      node.shutdown(Duration.ofSeconds(1)).toCompletableFuture().join();
    }
  }
}
