package dev.tollgate.loadtests.quota;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A Tollgate node in a JVM of its own, started from the node jar by a load run. */
final class NodeJvm {

  private NodeJvm() {}

  /**
   * Starts {@code java <options> -jar <jar> run --config <config>} with its output in {@code log},
   * its proxy on 127.0.0.1, and the given {@code TOLLGATE_*} settings.
   */
  static Process start(Path jar, List<String> javaOptions, Path config, Path logback, Path log,
      Map<String, String> settings) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(javaOptions);
    command.add("-Dlogback.configurationFile=" + logback);
    command.addAll(List.of("-jar", jar.toString(), "run", "--config", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("TOLLGATE_PROXY_HOST", "127.0.0.1");
    builder.environment().putAll(settings);
    return builder.start();
  }

  /** Waits until the node's log says its proxy listens; fails if it exits first or takes too long. */
  static void awaitListening(Path log, Process process, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains("Proxy listening on")) {
        return;
      }
      if (!process.isAlive()) {
        throw new IllegalStateException("a node exited before listening; its log: " + log);
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("a node did not listen within " + timeout.getSeconds() + " s; its log: " + log);
  }

  /**
   * Writes a logback configuration for the nodes: INFO, Pekko at WARN, the given loggers at DEBUG,
   * with full logger names and UTC timestamps that the run parses.
   */
  static Path writeLogback(Path dir, String... debugLoggers) throws IOException {
    StringBuilder loggers = new StringBuilder();
    for (String name : debugLoggers) {
      loggers.append("  <logger name=\"").append(name).append("\" level=\"DEBUG\"/>\n");
    }
    Path file = dir.resolve("logback.xml");
    Files.writeString(file, """
        <configuration>
          <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z',UTC} %-5level %logger - %msg%n</pattern></encoder>
          </appender>
          <logger name="org.apache.pekko" level="WARN"/>
        """ + loggers + """
          <root level="INFO"><appender-ref ref="STDOUT"/></root>
        </configuration>
        """);
    return file;
  }
}
