package dev.tollgate.node;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Tollgate node in a JVM of its own, started by a test with the test's class path. */
final class NodeProcess implements AutoCloseable {

  private static final Pattern LISTENING = Pattern.compile("Proxy listening on /?[^:]*:(\\d+)");

  final Process process;
  final List<String> output = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Integer> port = new CompletableFuture<>();
  private final Thread reader;

  private NodeProcess(Process process) {
    this.process = process;
    this.reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          output.add(line);
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            port.complete(Integer.parseInt(m.group(1)));
          }
        }
      } catch (IOException e) {
        // the process ended
      }
      port.completeExceptionally(new IllegalStateException("node exited before listening:\n" + String.join("\n", output)));
    }, "node-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code tollgate <args>} in a new JVM with the given JVM options. */
  static NodeProcess start(List<String> jvmOptions, String... args) throws IOException {
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(classPath);
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    // Each node keeps its embedded database in a directory of its own, not in the working directory.
    // A directory member of its own on a free port, not the default 5701 that another node may hold.
    builder.environment().putIfAbsent("TOLLGATE_DIRECTORY_PORT", "0");
    builder.environment().putIfAbsent("TOLLGATE_ADMIN_PORT", "0");
    builder.environment().putIfAbsent("TOLLGATE_MANAGEMENT_PORT", "0");
    builder.environment().putIfAbsent("TOLLGATE_METRICS_PORT", "0");
    builder.environment().putIfAbsent("TOLLGATE_SHUTDOWN_READY_DELAY", "0s");
    builder.environment().putIfAbsent("TOLLGATE_STORAGE_DATA_DIR",
        Files.createTempDirectory("tollgate-node-data").toString());
    return new NodeProcess(builder.start());
  }

  int awaitPort() throws Exception {
    return port.get(60, TimeUnit.SECONDS);
  }

  /** Waits for the process to exit and for all its output to be read; returns the exit code. */
  int awaitExit(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      throw new IllegalStateException("still running after " + seconds + " s:\n" + log());
    }
    reader.join(TimeUnit.SECONDS.toMillis(5));
    return process.exitValue();
  }

  String log() {
    return String.join("\n", output);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
