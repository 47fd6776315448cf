package dev.tollgate.node;

import com.typesafe.config.Config;
import dev.tollgate.config.ConfigError;
import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.GatewayConfig;
import dev.tollgate.config.NodeSettings;
import dev.tollgate.config.NodeSettingsLoader;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code tollgate} command line. */
@Command(name = "tollgate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "A clustered API gateway.",
    subcommands = {Main.Run.class, Main.Validate.class, Main.Demo.class, AdminCommands.Apply.class,
        AdminCommands.Status.class, AdminCommands.Versions.class, AdminCommands.Rollback.class})
public final class Main implements Callable<Integer> {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  public static void main(String[] args) {
    int code = new CommandLine(new Main()).execute(args);
    if (code != RUNNING) {
      System.exit(code);
    }
  }

  /** Returned by commands that keep running until a signal stops them. */
  static final int RUNNING = -1;

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.out);
    return 2;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"tollgate " + (v == null ? "(development build)" : v)};
    }
  }

  /** Options shared by the commands that start a node. */
  static final class NodeOptions {
    @Option(names = "--settings", paramLabel = "FILE",
        description = "Node settings (HOCON) over the defaults; -D properties and TOLLGATE_* variables override it.")
    Path settings;

    NodeSettings load() throws ConfigException {
      NodeSettingsLoader.unknownEnvironmentVariables(System.getenv()).forEach(w -> log.warn("Ignored: {}", w));
      return NodeSettingsLoader.load(Optional.ofNullable(settings), System.getenv(), System.getProperties());
    }

    Config overrides() {
      return NodeSettingsLoader.overrides(Optional.ofNullable(settings), System.getenv(), System.getProperties());
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = "Runs a gateway node with the routes and upstreams of a config file, until SIGTERM or SIGINT,"
          + " then drains in-flight requests and exits 0.")
  static final class Run implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The declarative config (YAML or JSON).")
    Path config;

    @CommandLine.Mixin
    NodeOptions node = new NodeOptions();

    @Override
    public Integer call() throws Exception {
      GatewayConfig gateway;
      NodeSettings settings;
      try {
        gateway = ConfigLoader.load(config);
        settings = node.load();
      } catch (ConfigException e) {
        printErrors(e, System.err);
        return 1;
      }
      // The handler is in place before the proxy binds: a SIGTERM that comes as soon as the port is
      // open drains the node once it has started, instead of killing it with requests in flight.
      java.util.concurrent.CompletableFuture<GatewayNode> started = GatewayNode.start(settings, node.overrides(),
          new GatewayNode.ConfigSeed(java.nio.file.Files.readString(config), config.toString())).toCompletableFuture();
      stopOnSignal(() -> started.join().shutdown().toCompletableFuture().join());
      GatewayNode running = started.join();
      GatewayConfig serving = running.proxy().currentConfig();
      log.info("Tollgate node up: proxy on {}, {} routes, {} upstreams", running.proxyAddress(),
          serving.routes().size(), serving.upstreams().size());
      return RUNNING;
    }
  }

  @Command(name = "validate", mixinStandardHelpOptions = true,
      description = "Checks a config file: prints every error with its path and exits 1, or prints a summary and exits 0.")
  static final class Validate implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "The declarative config (YAML or JSON).")
    Path file;

    @Override
    public Integer call() {
      try {
        GatewayConfig config = ConfigLoader.load(file);
        System.out.printf("%s is valid: %d upstreams (%d targets), %d routes%n", file, config.upstreams().size(),
            config.upstreams().stream().mapToInt(u -> u.targets().size()).sum(), config.routes().size());
        return 0;
      } catch (ConfigException e) {
        printErrors(e, System.out);
        return 1;
      }
    }
  }

  @Command(name = "demo", mixinStandardHelpOptions = true,
      description = "Starts a node and two demo upstreams on loopback, routes /echo to them, and prints requests to try.")
  static final class Demo implements Callable<Integer> {
    @CommandLine.Mixin
    NodeOptions node = new NodeOptions();

    @Override
    public Integer call() throws Exception {
      NodeSettings settings;
      try {
        settings = node.load();
      } catch (ConfigException e) {
        printErrors(e, System.err);
        return 1;
      }
      DemoSetup demo = DemoSetup.start(settings, node.overrides());
      demo.printWelcome(System.out);
      stopOnSignal(() -> demo.stop());
      return RUNNING;
    }
  }

  static void printErrors(ConfigException e, PrintStream out) {
    out.println(e.errors().size() == 1 ? "1 error:" : e.errors().size() + " errors:");
    for (ConfigError error : e.errors()) {
      out.println("  " + error);
    }
  }

  /**
   * Replaces the JVM's SIGTERM and SIGINT handling: the node drains and the process exits 0, as a
   * service manager expects of a clean stop.
   */
  @SuppressWarnings("restriction")
  static void stopOnSignal(Runnable stop) {
    CountDownLatch once = new CountDownLatch(1);
    sun.misc.SignalHandler handler = signal -> {
      if (once.getCount() == 0) {
        return;
      }
      once.countDown();
      Thread stopper = new Thread(() -> {
        log.info("SIG{} received: draining", signal.getName());
        try {
          stop.run();
        } catch (RuntimeException | Error e) {
          // Whatever went wrong, the process must end: a node that hangs on its way out is worse.
          log.error("Error while stopping", e);
          Runtime.getRuntime().halt(1);
        }
        log.info("Stopped");
        System.exit(0);
      }, "tollgate-stop");
      stopper.start();
    };
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), handler);
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), handler);
  }
}
