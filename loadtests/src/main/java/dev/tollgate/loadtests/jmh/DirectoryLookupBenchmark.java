package dev.tollgate.loadtests.jmh;

import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.directory.CredentialDirectory.KeyImport;
import dev.tollgate.cluster.directory.DirectoryConsumer;
import dev.tollgate.persistence.Database;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * An API key lookup as the request path makes it on a directory key: the key's SHA-256 digest,
 * then the key map and the consumer map, both through their near caches. Two real Hazelcast
 * members in this JVM on loopback, with the directory in H2, hold 100,000 keys of 1,000
 * consumers; half of the keys are owned by the other member, so a near-cache miss would be a
 * network call. The hot set (10,000 keys) fits the near cache, as a production node's active keys
 * should. Checked against a median of at most 2 µs per lookup (see docs/benchmarks.md).
 *
 * <p>Also a known key's digest alone (the near caches' part), and an unknown key.
 *
 * <p>About 70 s in all: 3 benchmarks × (5 × 1 s warm-up + 5 × 2 s measured), one fork each, plus
 * the members' start and the keys' import.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "java.se", "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.management/sun.management=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
public class DirectoryLookupBenchmark {

  static final int KEYS = 100_000;
  static final int CONSUMERS = 1_000;
  static final int HOT = 10_000;

  @State(Scope.Benchmark)
  public static class Directory {
    CredentialDirectory local;
    CredentialDirectory other;
    String[] hot;
    String[] hotDigests;
    String[] unknown;
    Path dataDir;

    @Setup(Level.Trial)
    public void start() throws Exception {
      dataDir = Files.createTempDirectory("tollgate-jmh-directory");
      Database db = Database.h2(dataDir);
      int portA = freePort();
      int portB = freePort();
      List<String> members = List.of("127.0.0.1:" + portA, "127.0.0.1:" + portB);
      local = CredentialDirectory.start(settings(portA, members), db, Clock.systemUTC());
      other = CredentialDirectory.start(settings(portB, members), db, Clock.systemUTC());
      if (local.members() != 2) {
        throw new IllegalStateException("the two members did not join: " + local.members());
      }
      for (int c = 0; c < CONSUMERS; c++) {
        other.createConsumer(new DirectoryConsumer("consumer-" + c, Optional.of("gold"), List.of("partners")));
      }
      List<KeyImport> imports = new ArrayList<>(KEYS);
      for (int k = 0; k < KEYS; k++) {
        imports.add(new KeyImport("consumer-" + (k % CONSUMERS), "tg_bench_key_" + k + "_" + Long.toHexString(k * 0x9E3779B97F4A7C15L)));
      }
      other.importKeys(imports);
      hot = new String[HOT];
      hotDigests = new String[HOT];
      unknown = new String[HOT];
      for (int k = 0; k < HOT; k++) {
        hot[k] = imports.get(k * (KEYS / HOT)).apiKey();
        hotDigests[k] = CredentialDirectory.digest(hot[k]);
        unknown[k] = "tg_never_issued_" + k;
        // Fill the near caches, as the first request with each key would.
        if (local.consumerForApiKey(hot[k]).isEmpty() || local.consumerForApiKey(unknown[k]).isPresent()) {
          throw new IllegalStateException("the directory does not answer as imported");
        }
      }
    }

    private static CredentialDirectory.Settings settings(int port, List<String> members) {
      return new CredentialDirectory.Settings("tollgate-jmh", "127.0.0.1", port, members, 1, 100_000);
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0)) {
        return s.getLocalPort();
      }
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
      local.close();
      other.close();
      try (var files = Files.walk(dataDir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }

    int pick() {
      return ThreadLocalRandom.current().nextInt(HOT);
    }
  }

  /** A known key: its digest, then both near caches. */
  @Benchmark
  public Optional<DirectoryConsumer> knownKey(Directory d) {
    return d.local.consumerForApiKey(d.hot[d.pick()]);
  }

  /** A known key's digest, computed beforehand: the near caches' part alone. */
  @Benchmark
  public Optional<DirectoryConsumer> knownDigest(Directory d) {
    return d.local.consumerForKey(d.hotDigests[d.pick()]);
  }

  /** A key nobody was issued, from a set of 10,000 that the near cache has seen before. */
  @Benchmark
  public Optional<DirectoryConsumer> unknownKey(Directory d) {
    return d.local.consumerForApiKey(d.unknown[d.pick()]);
  }
}
