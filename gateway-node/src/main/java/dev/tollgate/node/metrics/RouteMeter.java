package dev.tollgate.node.metrics;

import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Metric;
import kamon.metric.Timer;
import kamon.tag.TagSet;

/**
 * One route's instruments: requests and their duration by status class, and body bytes each way.
 * A series for a status class is made the first time that class is answered.
 */
public final class RouteMeter {

  /** Records nothing. */
  static final RouteMeter NONE = new RouteMeter();

  private final boolean enabled;
  private final String route;
  private final Counter[] requests = new Counter[Metrics.STATUS_CLASSES.length];
  private final Timer[] durations = new Timer[Metrics.STATUS_CLASSES.length];
  private final Counter bytesIn;
  private final Counter bytesOut;
  private final Metric.Counter requestsMetric;
  private final Metric.Timer durationMetric;

  private RouteMeter() {
    this.enabled = false;
    this.route = null;
    this.bytesIn = null;
    this.bytesOut = null;
    this.requestsMetric = null;
    this.durationMetric = null;
  }

  RouteMeter(String route) {
    this.enabled = true;
    this.route = route;
    TagSet tags = TagSet.of("route", route);
    this.requestsMetric = Kamon.counter("tollgate.requests", "Requests answered, by route and status class");
    this.durationMetric = Kamon.timer("tollgate.request.duration", "From the request head to the end of the response body");
    this.bytesIn = Kamon.counter("tollgate.request.body", "Request body bytes read from clients and sent upstream",
        Metrics.bytes()).withTags(tags);
    this.bytesOut = Kamon.counter("tollgate.response.body", "Response body bytes sent to clients", Metrics.bytes())
        .withTags(tags);
  }

  /** Whether recording does anything (the request path skips its byte counting otherwise). */
  public boolean enabled() {
    return enabled;
  }

  /**
   * One request answered in full.
   *
   * @param durationNanos from taking up the request head to the end of the response body
   */
  public void record(int status, long durationNanos, long bodyBytesIn, long bodyBytesOut) {
    if (!enabled) {
      return;
    }
    int i = Metrics.statusIndex(status);
    Counter count = requests[i];
    Timer duration = durations[i];
    if (count == null || duration == null) {
      // Racing threads resolve the same instruments: Kamon keeps one per name and tags.
      TagSet tags = TagSet.of("route", route).withTag("status_class", Metrics.STATUS_CLASSES[i]);
      count = requests[i] = requestsMetric.withTags(tags);
      duration = durations[i] = durationMetric.withTags(tags);
    }
    count.increment();
    duration.record(durationNanos);
    if (bodyBytesIn > 0) {
      bytesIn.increment(bodyBytesIn);
    }
    if (bodyBytesOut > 0) {
      bytesOut.increment(bodyBytesOut);
    }
  }
}
