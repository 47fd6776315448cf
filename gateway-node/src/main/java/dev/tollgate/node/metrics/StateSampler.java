package dev.tollgate.node.metrics;

import dev.tollgate.cluster.directory.CredentialDirectory;
import dev.tollgate.cluster.quota.LeasedQuotaClient;
import dev.tollgate.cluster.upstream.TargetStatus;
import dev.tollgate.node.upstream.UpstreamTarget;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import kamon.Kamon;
import kamon.metric.Metric;
import kamon.tag.TagSet;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.pattern.Patterns;

/**
 * What the node holds rather than what requests do, sampled into gauges (and, for figures that
 * only grow, counters) once per {@code tollgate.metrics.interval}: the config version, each
 * target's health and breaker, cluster members, the shards and entities hosted here, quota leases,
 * the directory's near caches, requests in flight. Nothing here runs on the request path.
 */
public final class StateSampler implements AutoCloseable {

  /** Where the sampler reads the node's state. */
  public record Sources(
      LongSupplier configVersion,
      Supplier<Map<String, List<UpstreamTarget>>> targets,
      Supplier<Map<String, TargetStatus>> statuses,
      IntSupplier inFlight,
      LongSupplier accessLogDrops,
      Supplier<LeasedQuotaClient.Stats> quota,
      Optional<CredentialDirectory> directory) {

    public Sources {
      Objects.requireNonNull(configVersion, "configVersion");
      Objects.requireNonNull(targets, "targets");
      Objects.requireNonNull(statuses, "statuses");
      Objects.requireNonNull(inFlight, "inFlight");
      Objects.requireNonNull(accessLogDrops, "accessLogDrops");
      Objects.requireNonNull(quota, "quota");
      Objects.requireNonNull(directory, "directory");
    }
  }

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(StateSampler.class);

  private final ActorSystem<?> system;
  private final Sources sources;
  private final Duration askTimeout;
  private final Cancellable schedule;

  private final Metric.Gauge configVersion = Kamon.gauge("tollgate.config.version",
      "The number of the config version this node serves (0: the config it started with, outside the store)");
  private final Metric.Gauge inFlight = Kamon.gauge("tollgate.requests.in.flight",
      "Requests accepted and not yet answered in full");
  private final Metric.Counter accessLogDropped = Kamon.counter("tollgate.access.log.dropped",
      "Access log lines dropped because the writer fell behind");
  private final Metric.Gauge health = Kamon.gauge("tollgate.upstream.target.health",
      "1 for each target's current health as its guard judged it (state: unprobed, healthy, unhealthy), else 0");
  private final Metric.Gauge breaker = Kamon.gauge("tollgate.upstream.target.breaker",
      "1 for each target's current circuit breaker state (state: closed, open, half_open, forced_open), else 0");
  private final Metric.Gauge available = Kamon.gauge("tollgate.upstream.target.available",
      "1 when this node's balancers would pick the target now (health, breaker and passive ejection), else 0");
  private final Metric.Gauge members = Kamon.gauge("tollgate.cluster.members",
      "Cluster members as this node sees them, by status");
  private final Metric.Gauge unreachable = Kamon.gauge("tollgate.cluster.unreachable.members",
      "Cluster members this node's failure detector finds unreachable");
  private final Metric.Gauge shards = Kamon.gauge("tollgate.cluster.shards",
      "Shards hosted on this node, by entity type");
  private final Metric.Gauge entities = Kamon.gauge("tollgate.cluster.entities",
      "Entities running on this node, by entity type");
  private final Metric.Counter leaseGrants = Kamon.counter("tollgate.quota.lease.grants",
      "Leases with at least one token that quota entities granted this node");
  private final Metric.Counter leasedTokens = Kamon.counter("tollgate.quota.lease.tokens",
      "Tokens of the leases granted to this node");
  private final Metric.Counter nearCacheHits = Kamon.counter("tollgate.directory.near.cache.hits",
      "Directory lookups this node's near cache answered, by map");
  private final Metric.Counter nearCacheMisses = Kamon.counter("tollgate.directory.near.cache.misses",
      "Directory lookups that went to the entry's member, by map");
  private final Metric.Gauge nearCacheRatio = Kamon.gauge("tollgate.directory.near.cache.hit.ratio",
      "Hits over lookups of this node's near cache since the node started, by map");
  private final Metric.Gauge nearCacheEntries = Kamon.gauge("tollgate.directory.near.cache.entries",
      "Entries in this node's near cache, by map");

  /** Series of the target gauges written at the last sample, to remove those of targets gone since. */
  private Set<TagSet> targetSeries = Set.of();
  private final Map<String, Long> last = new HashMap<>();

  private StateSampler(ActorSystem<?> system, Sources sources, Duration interval) {
    this.system = system;
    this.sources = sources;
    this.askTimeout = interval.compareTo(Duration.ofSeconds(2)) < 0 ? interval : Duration.ofSeconds(2);
    this.schedule = system.scheduler().scheduleWithFixedDelay(Duration.ZERO, interval, this::sampleSafely,
        system.executionContext());
  }

  /** Samples now and then every {@code interval}, until closed; nothing when metrics are off. */
  public static Optional<StateSampler> start(ActorSystem<?> system, Metrics metrics, Sources sources, Duration interval) {
    return metrics.enabled() ? Optional.of(new StateSampler(system, sources, interval)) : Optional.empty();
  }

  private void sampleSafely() {
    try {
      sample();
    } catch (RuntimeException e) {
      log.warn("Sampling the node's state for /metrics failed: {}", e.toString());
    }
  }

  private synchronized void sample() {
    configVersion.withoutTags().update(sources.configVersion().getAsLong());
    inFlight.withoutTags().update(sources.inFlight().getAsInt());
    grow("access-log-dropped", sources.accessLogDrops().getAsLong(), accessLogDropped, TagSet.Empty());
    LeasedQuotaClient.Stats quota = sources.quota().get();
    grow("lease-grants", quota.leaseGrants(), leaseGrants, TagSet.Empty());
    grow("leased-tokens", quota.leasedTokens(), leasedTokens, TagSet.Empty());
    targets();
    cluster();
    sources.directory().ifPresent(this::nearCaches);
    shards();
  }

  /** Adds to a counter what a figure that only grows gained since the last sample. */
  private void grow(String key, long now, Metric.Counter counter, TagSet tags) {
    long before = last.getOrDefault(key, 0L);
    // Resolved even with nothing to add, so that the series shows 0 rather than being absent.
    kamon.metric.Counter series = counter.withTags(tags);
    if (now > before) {
      series.increment(now - before);
    }
    last.put(key, Math.max(now, before));
  }

  private void targets() {
    Map<String, TargetStatus> statuses = sources.statuses().get();
    Set<TagSet> written = new HashSet<>();
    sources.targets().get().forEach((upstream, list) -> {
      for (UpstreamTarget t : list) {
        TagSet tags = TagSet.of("upstream", upstream).withTag("target", t.target().authority());
        TargetStatus s = statuses.get(t.id());
        TargetStatus.Health h = s == null ? TargetStatus.Health.UNPROBED : s.health();
        TargetStatus.Breaker b = s == null ? TargetStatus.Breaker.CLOSED : s.breaker();
        for (TargetStatus.Health each : TargetStatus.Health.values()) {
          TagSet series = tags.withTag("state", label(each));
          health.withTags(series).update(each == h ? 1 : 0);
          written.add(series);
        }
        for (TargetStatus.Breaker each : TargetStatus.Breaker.values()) {
          TagSet series = tags.withTag("state", label(each));
          breaker.withTags(series).update(each == b ? 1 : 0);
          written.add(series);
        }
        available.withTags(tags).update(t.admits() ? 1 : 0);
        written.add(tags);
      }
    });
    for (TagSet gone : targetSeries) {
      if (!written.contains(gone)) {
        health.remove(gone);
        breaker.remove(gone);
        available.remove(gone);
      }
    }
    targetSeries = written;
  }

  private void cluster() {
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    Map<String, Integer> byStatus = new HashMap<>();
    for (String status : MEMBER_STATUSES) {
      byStatus.put(status, 0);
    }
    for (Member m : state.getMembers()) {
      byStatus.merge(snake(m.status().toString()), 1, Integer::sum);
    }
    byStatus.forEach((status, count) -> members.withTag("status", status).update(count));
    unreachable.withoutTags().update(state.getUnreachable().size());
  }

  private static final List<String> MEMBER_STATUSES =
      List.of("joining", "weakly_up", "up", "leaving", "exiting", "down", "preparing_for_shutdown", "ready_for_shutdown");

  private void nearCaches(CredentialDirectory directory) {
    directory.nearCaches().forEach((map, c) -> {
      TagSet tags = TagSet.of("map", map);
      grow("near-hits-" + map, c.hits(), nearCacheHits, tags);
      grow("near-misses-" + map, c.misses(), nearCacheMisses, tags);
      long lookups = c.hits() + c.misses();
      if (lookups > 0) {
        nearCacheRatio.withTags(tags).update((double) c.hits() / lookups);
      }
      nearCacheEntries.withTags(tags).update(c.entries());
    });
  }

  /** Asks this node's shard region of each entity type what it hosts; the gauges follow the answers. */
  private void shards() {
    ClusterSharding sharding = ClusterSharding.get(system.classicSystem());
    for (String type : sharding.getShardTypeNames()) {
      Patterns.ask(sharding.shardRegion(type), ShardRegion.getShardRegionStateInstance(), askTimeout)
          .whenComplete((answer, failure) -> {
            if (answer instanceof ShardRegion.CurrentShardRegionState region) {
              long count = 0;
              for (ShardRegion.ShardState shard : region.getShards()) {
                count += shard.getEntityIds().size();
              }
              TagSet tags = TagSet.of("entity_type", type);
              shards.withTags(tags).update(region.getShards().size());
              entities.withTags(tags).update(count);
            }
          });
    }
  }

  private static String label(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  /** {@code WeaklyUp} as {@code weakly_up}. */
  static String snake(String camel) {
    StringBuilder b = new StringBuilder(camel.length() + 4);
    for (int i = 0; i < camel.length(); i++) {
      char c = camel.charAt(i);
      if (Character.isUpperCase(c)) {
        if (i > 0) {
          b.append('_');
        }
        b.append(Character.toLowerCase(c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  @Override
  public void close() {
    schedule.cancel();
  }
}
