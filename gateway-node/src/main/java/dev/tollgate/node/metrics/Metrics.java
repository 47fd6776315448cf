package dev.tollgate.node.metrics;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tollgate.cluster.quota.Verdict;
import dev.tollgate.config.NodeSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.MeasurementUnit;
import kamon.prometheus.PrometheusReporter;
import kamon.tag.TagSet;

/**
 * The node's metrics: Kamon instruments recorded by the gateway's own code (no agent), in the
 * Prometheus format on {@code GET /metrics}. Instruments are resolved once per route, upstream or
 * outcome and kept where the request path finds them, so a request only increments counters and
 * records into histograms. Labels are bounded: route, upstream, target, status class and a few
 * fixed outcomes; never a consumer.
 *
 * <p>Kamon's registry is one per JVM. A JVM runs one node, except in tests, where the nodes of a
 * JVM share the figures.
 */
public final class Metrics {

  /** The status class labels, by {@link #statusIndex}. */
  static final String[] STATUS_CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

  /** The decision labels, by {@link #decisionIndex}. */
  private static final String[] DECISIONS = {"admitted", "limited", "admitted_local_share", "denied_unavailable"};

  /** No instruments: nothing is recorded, and nothing is served. */
  public static final Metrics OFF = new Metrics(false);

  /** Histogram buckets of request and upstream durations, in seconds: a gateway's answers are fast. */
  static final List<Double> DURATION_BUCKETS =
      List.of(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0);

  private static final Object LOCK = new Object();
  private static PrometheusReporter reporter;

  private final boolean enabled;
  private final RouteMeter unmatched;
  /** Rate-limit decisions by outcome (index of {@link #decisionIndex}) and whether an entity was asked. */
  private final Counter[] decisions;

  private Metrics(boolean enabled) {
    this.enabled = enabled;
    this.unmatched = enabled ? new RouteMeter("") : RouteMeter.NONE;
    this.decisions = new Counter[DECISIONS.length * 2];
    if (enabled) {
      kamon.metric.Metric.Counter metric = Kamon.counter("tollgate.ratelimit.decisions",
          "Rate-limit and quota decisions by outcome; path=remote when the node waited for the consumer's entity");
      for (int i = 0; i < DECISIONS.length; i++) {
        decisions[2 * i] = metric.withTags(TagSet.of("decision", DECISIONS[i]).withTag("path", "local"));
        decisions[2 * i + 1] = metric.withTags(TagSet.of("decision", DECISIONS[i]).withTag("path", "remote"));
      }
    }
  }

  /**
   * Starts Kamon for this JVM, once, and gives the node its instruments; {@link #OFF} when the
   * settings turn metrics off. A later node of the same JVM with another interval changes it.
   */
  public static Metrics start(NodeSettings.Metrics settings) {
    if (!settings.enabled()) {
      return OFF;
    }
    synchronized (LOCK) {
      Config config = kamonConfig(settings.interval());
      if (reporter == null) {
        Kamon.initWithoutAttaching(config);
        reporter = new PrometheusReporter(PrometheusReporter.DefaultConfigPath(), Kamon.config());
        Kamon.addReporter("tollgate-prometheus", reporter);
      } else if (!Kamon.config().getDuration("kamon.metric.tick-interval").equals(settings.interval())) {
        Kamon.reconfigure(config);
      }
    }
    return new Metrics(true);
  }

  /** Kamon's settings: our tick and buckets, its Prometheus module without its own server, JVM metrics only. */
  static Config kamonConfig(Duration interval) {
    Map<String, Object> values = new java.util.HashMap<>();
    values.put("kamon.metric.tick-interval", interval.toMillis() + "ms");
    values.put("kamon.init.hide-banner", true);
    values.put("kamon.environment.service", "tollgate");
    values.put("kamon.prometheus.start-embedded-http-server", false);
    values.put("kamon.prometheus.buckets.custom.\"tollgate.request.duration\"", DURATION_BUCKETS);
    values.put("kamon.prometheus.buckets.custom.\"tollgate.upstream.duration\"", DURATION_BUCKETS);
    // The module registry would start a second reporter with an embedded server; ours is added by hand.
    values.put("kamon.modules.prometheus-reporter.enabled", false);
    // Host metrics (CPU, disks, network of the whole machine) are node-exporter's job; the process
    // module samples hiccups every millisecond, a cost we do not take on two cores.
    values.put("kamon.modules.host-metrics.enabled", false);
    values.put("kamon.modules.process-metrics.enabled", false);
    values.put("kamon.modules.jvm-metrics.enabled", true);
    values.put("kamon.modules.jvm-metrics.interval", interval.toMillis() + "ms");
    return ConfigFactory.parseMap(values).withFallback(ConfigFactory.defaultReference(Metrics.class.getClassLoader()));
  }

  public boolean enabled() {
    return enabled;
  }

  /** The instruments of route {@code name}; resolve once per config version, not per request. */
  public RouteMeter route(String name) {
    return enabled ? new RouteMeter(name) : RouteMeter.NONE;
  }

  /** The instruments of requests no route matched ({@code route=""}). */
  public RouteMeter unmatched() {
    return unmatched;
  }

  /** The instruments of upstream {@code name}; resolve once per config version, not per request. */
  public UpstreamMeter upstream(String name) {
    return enabled ? new UpstreamMeter(name) : UpstreamMeter.NONE;
  }

  /** Counts one rate-limit decision: its outcome, whether it waited for an entity, and any fallback taken. */
  public void decision(Verdict verdict) {
    if (!enabled) {
      return;
    }
    decisions[2 * decisionIndex(verdict) + (verdict.remote() ? 1 : 0)].increment();
  }

  static int decisionIndex(Verdict v) {
    return switch (v.outcome()) {
      case ADMITTED -> v.localShare() ? 2 : 0;
      case LIMITED -> 1;
      case UNAVAILABLE -> 3;
    };
  }

  /**
   * The Prometheus text of the last snapshot (taken every {@code tollgate.metrics.interval});
   * empty before the first.
   */
  public String scrape() {
    synchronized (LOCK) {
      return reporter == null ? "" : reporter.scrapeData();
    }
  }

  /** 0..4 for 1xx..5xx, 5 for anything else. */
  static int statusIndex(int status) {
    int c = status / 100;
    return c >= 1 && c <= 5 ? c - 1 : 5;
  }

  static MeasurementUnit bytes() {
    return MeasurementUnit.information().bytes();
  }
}
