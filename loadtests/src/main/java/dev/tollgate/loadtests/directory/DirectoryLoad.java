package dev.tollgate.loadtests.directory;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Loads a million API keys into the directory of a three-member cluster, each member a JVM of its
 * own ({@link DirectoryMember}) on one embedded PostgreSQL, and reports: the time the import took,
 * the heap each member uses before and after (after full collections), lookups of a random sample
 * on every member, then a full restart of all three: how long until the members have loaded every
 * key back from the database, and the sample again.
 *
 * <pre>
 * java -cp loadtests/target/benchmarks.jar dev.tollgate.loadtests.directory.DirectoryLoad \
 *     [--keys 1000000] [--consumers 10000] [--batch 50000] [--members 3] [--heap 1g] [--sample 10000]
 * </pre>
 *
 * <p>Bounded: every answer is awaited at most 20 minutes, and the members are stopped at the end
 * or on any failure.
 */
public final class DirectoryLoad {

  private static final Duration ANSWER_TIMEOUT = Duration.ofMinutes(20);

  record Options(int keys, int consumers, int batch, int members, String heap, int sample) {

    static Options parse(String[] args) {
      int keys = 1_000_000;
      int consumers = 10_000;
      int batch = 50_000;
      int members = 3;
      String heap = "1g";
      int sample = 10_000;
      for (int i = 0; i + 1 < args.length; i += 2) {
        switch (args[i]) {
          case "--keys" -> keys = Integer.parseInt(args[i + 1]);
          case "--consumers" -> consumers = Integer.parseInt(args[i + 1]);
          case "--batch" -> batch = Integer.parseInt(args[i + 1]);
          case "--members" -> members = Integer.parseInt(args[i + 1]);
          case "--heap" -> heap = args[i + 1];
          case "--sample" -> sample = Integer.parseInt(args[i + 1]);
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + " (expected --keys, --consumers, --batch, --members, --heap or --sample)");
        }
      }
      if (args.length % 2 != 0) {
        throw new IllegalArgumentException("option " + args[args.length - 1] + " has no value");
      }
      if (keys < 1 || consumers < 1 || batch < 1 || members < 1 || sample < 1) {
        throw new IllegalArgumentException("--keys, --consumers, --batch, --members and --sample must be positive");
      }
      return new Options(keys, consumers, batch, members, heap, sample);
    }
  }

  /** A member JVM: commands in on its standard input, one answer line each out of its standard output. */
  static final class Member implements AutoCloseable {
    final String name;
    final Process process;
    final PrintWriter commands;
    final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    final long startedMillis;

    Member(String name, Process process) throws Exception {
      this.name = name;
      this.process = process;
      this.commands = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
      Thread reader = new Thread(() -> {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = out.readLine(); line != null; line = out.readLine()) {
            answers.add(line);
          }
        } catch (IOException ignored) {
          // the member is gone; await() says so
        }
      }, name + "-answers");
      reader.setDaemon(true);
      reader.start();
      this.startedMillis = Long.parseLong(await("started").split(" ")[1]);
    }

    String ask(String command) throws Exception {
      commands.println(command);
      return await(command.split(" ")[0].equals("import") ? "imported" : command.split(" ")[0].equals("check") ? "found"
          : command.split(" ")[0]);
    }

    String await(String prefix) throws Exception {
      long deadline = System.nanoTime() + ANSWER_TIMEOUT.toNanos();
      while (System.nanoTime() < deadline) {
        String line = answers.poll(1, TimeUnit.SECONDS);
        if (line != null && line.startsWith(prefix)) {
          return line;
        }
        if (line != null && line.startsWith("error")) {
          throw new IllegalStateException(name + ": " + line);
        }
        if (line == null && !process.isAlive()) {
          throw new IllegalStateException(name + " exited (" + process.exitValue() + ") before answering " + prefix);
        }
      }
      throw new IllegalStateException(name + " did not answer " + prefix + " within " + ANSWER_TIMEOUT.toMinutes() + " min");
    }

    long number(String command, int field) throws Exception {
      return Long.parseLong(ask(command).split(" ")[field]);
    }

    @Override
    public void close() throws InterruptedException {
      if (process.isAlive()) {
        commands.println("quit");
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
    }
  }

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    PrintStream out = System.out;
    Path work = Files.createTempDirectory("tollgate-directory-load");
    Path logback = work.resolve("logback.xml");
    Files.writeString(logback, """
        <configuration>
          <appender name="ERR" class="ch.qos.logback.core.ConsoleAppender">
            <target>System.err</target>
            <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger - %msg%n</pattern></encoder>
          </appender>
          <root level="WARN"><appender-ref ref="ERR"/></root>
        </configuration>
        """);
    int[] ports = new int[options.members()];
    for (int i = 0; i < ports.length; i++) {
      ports[i] = freePort();
    }
    String memberList = java.util.Arrays.stream(ports).mapToObj(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    out.printf("machine:   %d CPUs, %s, %s%n", Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    out.printf("cluster:   %d directory members, one JVM each (-Xmx%s, ParallelGC), backup count 1, near cache"
        + " 100,000 entries; one embedded PostgreSQL%n", options.members(), options.heap());
    try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
      String url = postgres.getJdbcUrl("postgres", "postgres");
      List<Member> members = start(options, work, logback, ports, memberList, url, "first");
      try {
        awaitMembers(members, options.members());
        long[] before = heaps(members);
        String imported = members.get(0).ask("import " + options.consumers() + " " + options.keys() + " " + options.batch());
        long importMillis = Long.parseLong(imported.split(" ")[2]);
        long consumerMillis = Long.parseLong(imported.split(" ")[3]);
        out.printf("consumers: %,d created one by one (each stored before the next) in %.1f s%n", options.consumers(),
            consumerMillis / 1000.0);
        out.printf("import:    %,d keys in %.1f s (%,.0f keys/s), %,d per call, stored in PostgreSQL before each"
                + " call returned%n", options.keys(), importMillis / 1000.0, options.keys() * 1000.0 / importMillis,
            options.batch());
        long[] after = heaps(members);
        for (int i = 0; i < members.size(); i++) {
          out.printf("heap:      %s %6.1f MiB before, %6.1f MiB after: %5.0f bytes per key of the cluster%n",
              members.get(i).name, before[i] / 1048576.0, after[i] / 1048576.0,
              (after[i] - before[i]) / (double) options.keys());
        }
        check(out, members, options, "after the import");
      } finally {
        for (Member m : members) {
          m.close();
        }
      }
      long restart = System.nanoTime();
      List<Member> again = start(options, work, logback, ports, memberList, url, "restart");
      try {
        awaitMembers(again, options.members());
        long count = again.get(0).number("count", 1);
        out.printf("restart:   all %d members stopped, then started again: every member up with its maps loaded"
                + " after %.1f s (slowest member's start %.1f s); keys in the directory: %,d%n", again.size(),
            (System.nanoTime() - restart) / 1e9, again.stream().mapToLong(m -> m.startedMillis).max().orElse(0) / 1000.0,
            count);
        if (count != options.keys()) {
          throw new IllegalStateException("the restart lost keys: " + count + " of " + options.keys());
        }
        long[] heaps = heaps(again);
        for (int i = 0; i < again.size(); i++) {
          out.printf("heap:      %s %6.1f MiB after the restart%n", again.get(i).name, heaps[i] / 1048576.0);
        }
        check(out, again, options, "after the restart");
      } finally {
        for (Member m : again) {
          m.close();
        }
      }
    }
  }

  private static List<Member> start(Options options, Path work, Path logback, int[] ports, String memberList, String url,
      String round) throws Exception {
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < ports.length; i++) {
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx" + options.heap(), "-XX:+UseParallelGC", "-Dlogback.configurationFile=" + logback,
          "--add-modules", "java.se", "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
          "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens", "java.management/sun.management=ALL-UNNAMED",
          "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
          "-cp", System.getProperty("java.class.path"), DirectoryMember.class.getName(),
          String.valueOf(ports[i]), memberList, url, "postgres", "postgres"));
      Path log = work.resolve("member-" + (char) ('a' + i) + "-" + round + ".log");
      processes.add(new ProcessBuilder(command).redirectError(log.toFile()).start());
    }
    List<Member> members = new ArrayList<>();
    try {
      for (int i = 0; i < processes.size(); i++) {
        members.add(new Member("member-" + (char) ('a' + i), processes.get(i)));
      }
    } catch (Exception e) {
      processes.forEach(Process::destroyForcibly);
      throw new IllegalStateException(e.getMessage() + "; the members' logs are in " + work, e);
    }
    return members;
  }

  private static void awaitMembers(List<Member> members, int expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    for (Member m : members) {
      while (m.number("members", 1) != expected) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(m.name + " did not see " + expected + " members within 2 minutes");
        }
        Thread.sleep(200);
      }
    }
  }

  private static long[] heaps(List<Member> members) throws Exception {
    long[] used = new long[members.size()];
    for (int i = 0; i < used.length; i++) {
      used[i] = members.get(i).number("heap", 1);
    }
    return used;
  }

  private static void check(PrintStream out, List<Member> members, Options options, String when) throws Exception {
    for (Member m : members) {
      String[] found = m.ask("check " + options.keys() + " " + options.sample()).split(" ");
      int n = Integer.parseInt(found[1]);
      out.printf("lookups:   %s %s: %,d of %,d random keys found; %.1f µs each the first time (a remote call when"
              + " another member owns the key), %.2f µs through the near cache%n", m.name, when, n, options.sample(),
          Long.parseLong(found[3]) / 1000.0 / options.sample(), Long.parseLong(found[4]) / 1000.0 / options.sample());
      if (n != options.sample()) {
        throw new IllegalStateException(m.name + " did not find every key " + when);
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private DirectoryLoad() {}
}
