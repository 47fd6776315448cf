package dev.tollgate.node.metrics;

import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Metric;
import kamon.metric.Timer;
import kamon.tag.TagSet;

/**
 * One upstream's instruments: how long its targets take to send a response head, by status class,
 * and the attempts that got none, by why.
 */
public final class UpstreamMeter {

  /** Records nothing. */
  static final UpstreamMeter NONE = new UpstreamMeter();

  /** Why an attempt got no response. */
  public enum Failure {
    /** No connection could be opened. */
    CONNECT,
    /** The connection closed before a response head. */
    RESET,
    /** No response head within the route's response timeout. */
    TIMEOUT,
    /** The target's connection pool and its queue were full: nothing was sent. */
    OVERLOADED
  }


  private final boolean enabled;
  private final String upstream;
  private final Timer[] durations = new Timer[Metrics.STATUS_CLASSES.length];
  private final Counter[] failures = new Counter[Failure.values().length];
  private final Metric.Timer durationMetric;

  private UpstreamMeter() {
    this.enabled = false;
    this.upstream = null;
    this.durationMetric = null;
  }

  UpstreamMeter(String upstream) {
    this.enabled = true;
    this.upstream = upstream;
    this.durationMetric = Kamon.timer("tollgate.upstream.duration", "From sending an attempt to a target to its response head");
    Metric.Counter failuresMetric =
        Kamon.counter("tollgate.upstream.failures", "Attempts to an upstream's targets that got no response, by reason");
    for (Failure f : Failure.values()) {
      failures[f.ordinal()] = failuresMetric.withTags(
          TagSet.of("upstream", upstream).withTag("reason", f.name().toLowerCase(java.util.Locale.ROOT)));
    }
  }

  /** One attempt's response head arrived after {@code nanos}. */
  public void response(int status, long nanos) {
    if (!enabled) {
      return;
    }
    int i = Metrics.statusIndex(status);
    Timer t = durations[i];
    if (t == null) {
      t = durations[i] = durationMetric.withTags(TagSet.of("upstream", upstream).withTag("status_class", Metrics.STATUS_CLASSES[i]));
    }
    t.record(nanos);
  }

  /** One attempt got no response. */
  public void failure(Failure why) {
    if (enabled) {
      failures[why.ordinal()].increment();
    }
  }
}
