package dev.tollgate.loadtests.jmh;

import dev.tollgate.config.NodeSettingsLoader;
import dev.tollgate.node.metrics.Metrics;
import dev.tollgate.node.metrics.RouteMeter;
import dev.tollgate.node.metrics.UpstreamMeter;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the metrics add to one proxied request, as the request path records them: the route's
 * request counter, duration histogram and two byte counters ({@link RouteMeter#record}) and the
 * upstream's attempt histogram ({@link UpstreamMeter#response}). The instruments are resolved
 * before measuring, as a compiled config resolves them. Two threads, as on the 2-core machine the
 * proxy benchmark runs on, so that contention on the shared counters is in the figure.
 *
 * <p>The figure is a bound on the metrics' share of a request's CPU time, which the proxy benchmark
 * measures whole (its "cpu us/req" column); see docs/benchmarks.md.
 *
 * <p>About 20 s: one benchmark, 5 × 1 s warm-up and 5 × 2 s measured, one fork.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
public class MetricsRecordBenchmark {

  /** One route and one upstream, as a config version with one route has them. */
  @State(Scope.Benchmark)
  public static class Instruments {
    RouteMeter route;
    UpstreamMeter upstream;

    @Setup
    public void start() {
      Metrics metrics = Metrics.start(NodeSettingsLoader.defaults().metrics().withPort(0)
          .withInterval(Duration.ofSeconds(5)));
      route = metrics.route("bench");
      upstream = metrics.upstream("bench");
      // The 2xx series exist from here on, as after a route's first answer.
      route.record(200, 1, 0, 1);
      upstream.response(200, 1);
    }
  }

  /** Durations as a request's would vary, so that the histograms' buckets are not always the same one. */
  @State(Scope.Thread)
  public static class Durations {
    long next = 1_000_000;

    long take() {
      next = next * 6364136223846793005L + 1442695040888963407L;
      return 200_000 + ((next >>> 40) & 0x3FFFFF);
    }
  }

  @Benchmark
  @Threads(2)
  public void recordOneRequest(Instruments i, Durations d) {
    long upstreamNanos = d.take();
    i.upstream.response(200, upstreamNanos);
    i.route.record(200, upstreamNanos + 150_000, 0, 1024);
  }
}
