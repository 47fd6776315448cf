package dev.tollgate.loadtests;

import java.util.function.Function;

/**
 * How a load-test program ends, the same for all of them: exit 0 when every target is met, 1 when
 * one is not, 2 when its arguments are wrong or the run could not be made.
 */
public final class Harness {

  /** A run that says whether its targets were met, as an exit status. */
  public interface Run {
    int run() throws Exception;
  }

  private Harness() {}

  /** Parses the arguments, runs, and exits the JVM with the run's status. */
  public static <O> void main(String name, String[] args, Function<String[], O> parse, Function<O, Run> run) {
    O options;
    try {
      options = parse.apply(args);
    } catch (RuntimeException e) {
      System.err.println(name + ": " + e.getMessage());
      System.exit(2);
      return;
    }
    int status;
    try {
      status = run.apply(options).run();
    } catch (Exception e) {
      System.err.println(name + ": the run could not be made: " + e);
      e.printStackTrace();
      status = 2;
    }
    System.exit(status);
  }
}
