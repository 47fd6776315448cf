package dev.tollgate.cluster.directory;

import com.hazelcast.config.Config;
import com.hazelcast.config.EvictionConfig;
import com.hazelcast.config.EvictionPolicy;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.IndexConfig;
import com.hazelcast.config.IndexType;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MapStoreConfig;
import com.hazelcast.config.MaxSizePolicy;
import com.hazelcast.config.NearCacheConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.query.Predicates;
import dev.tollgate.persistence.Database;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The cluster's directory of consumers and API keys, for setups with more of them than a config
 * file holds: an embedded Hazelcast member on every node, two maps (consumers by id, keys by the
 * SHA-256 digest of the key), each with a near cache so that a lookup on the request path stays on
 * the node, and write-through storage in the node's database so that a full restart keeps them.
 *
 * <p>A revoked key stops working on every node as soon as the members' near caches are
 * invalidated: invalidations are sent at once, not batched. Keys are generated here, shown once
 * (in the {@link IssuedKey}) and kept only as digests. Thread-safe.
 */
public final class CredentialDirectory implements AutoCloseable {

  /**
   * How the node's member joins the others and sizes its maps.
   *
   * @param host the address this member binds to and the others reach it at
   * @param port this member's port
   * @param members the members to join, as {@code host:port}; may include this one
   * @param backupCount synchronous backups of each entry on other members
   * @param nearCacheSize entries each near cache keeps at most (least recently used leave first)
   * @param serviceDns a DNS name whose every address is a member at {@code port} (a Kubernetes
   *     headless Service), found through Hazelcast's Kubernetes discovery in DNS mode instead of
   *     {@code members}; empty: the members are joined over TCP-IP
   */
  public record Settings(String clusterName, String host, int port, List<String> members, int backupCount,
      int nearCacheSize, String serviceDns) {

    public Settings {
      Objects.requireNonNull(clusterName, "clusterName");
      Objects.requireNonNull(host, "host");
      members = List.copyOf(members);
      Objects.requireNonNull(serviceDns, "serviceDns");
    }

    /** Members joined over TCP-IP. */
    public Settings(String clusterName, String host, int port, List<String> members, int backupCount,
        int nearCacheSize) {
      this(clusterName, host, port, members, backupCount, nearCacheSize, "");
    }
  }

  /** A key just issued: its id (to revoke it by) and the key itself, which is not kept. */
  public record IssuedKey(String keyId, String key, long createdAtMillis) {
    @Override
    public String toString() {
      return "IssuedKey[keyId=" + keyId + ", createdAtMillis=" + createdAtMillis + "]";
    }
  }

  /** A key as the directory lists it: its id and when it was issued, never the key. */
  public record KeyInfo(String keyId, long createdAtMillis) {}

  static final String CONSUMERS = "tollgate-consumers";
  static final String KEYS = "tollgate-api-keys";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final HazelcastInstance member;
  private final DirectoryTables tables;
  private final IMap<String, DirectoryConsumer> consumers;
  private final IMap<String, DirectoryKey> keys;
  private final Clock clock;

  private CredentialDirectory(HazelcastInstance member, DirectoryTables tables, Clock clock) {
    this.member = member;
    this.tables = tables;
    this.consumers = member.getMap(CONSUMERS);
    this.keys = member.getMap(KEYS);
    this.clock = clock;
  }

  /** Creates the directory's tables if need be, starts this node's member and joins the others. */
  public static CredentialDirectory start(Settings settings, Database database, Clock clock) throws SQLException {
    DirectoryTables tables = new DirectoryTables(database);
    try {
      tables.create();
      return new CredentialDirectory(Hazelcast.newHazelcastInstance(config(settings, tables)), tables, clock);
    } catch (SQLException | RuntimeException e) {
      tables.close();
      throw e;
    }
  }

  static Config config(Settings settings, DirectoryTables tables) {
    Config config = new Config();
    config.setClusterName(settings.clusterName());
    config.setInstanceName("tollgate-directory-" + settings.host() + "-" + settings.port());
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    // Revocations must reach every near cache at once, not in batches sent every few seconds.
    config.setProperty("hazelcast.map.invalidation.batch.enabled", "false");
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(settings.port()).setPortAutoIncrement(false);
    network.setPublicAddress(settings.host() + ":" + settings.port());
    network.getInterfaces().setEnabled(true).setInterfaces(List.of(settings.host()));
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    if (settings.serviceDns().isEmpty()) {
      join.getTcpIpConfig().setEnabled(true).setMembers(settings.members().isEmpty()
          ? List.of(settings.host() + ":" + settings.port()) : settings.members());
    } else {
      // Every address of the name, looked up when the member joins: a headless Service lists each pod.
      join.getTcpIpConfig().setEnabled(false);
      join.getKubernetesConfig().setEnabled(true)
          .setProperty("service-dns", settings.serviceDns())
          .setProperty("service-port", String.valueOf(settings.port()));
    }
    config.getSerializationConfig().getCompactSerializationConfig()
        .addSerializer(new DirectorySerializers.Consumers())
        .addSerializer(new DirectorySerializers.Keys());
    config.addMapConfig(map(CONSUMERS, settings, new DirectoryMapStores.Consumers(tables)));
    config.addMapConfig(map(KEYS, settings, new DirectoryMapStores.Keys(tables))
        .addIndexConfig(new IndexConfig(IndexType.HASH, "consumerId")));
    return config;
  }

  private static MapConfig map(String name, Settings settings, Object store) {
    return new MapConfig(name)
        .setBackupCount(settings.backupCount())
        .setNearCacheConfig(new NearCacheConfig()
            .setInMemoryFormat(InMemoryFormat.OBJECT)
            .setInvalidateOnChange(true)
            .setCacheLocalEntries(true)
            .setEvictionConfig(new EvictionConfig()
                .setEvictionPolicy(EvictionPolicy.LRU)
                .setMaxSizePolicy(MaxSizePolicy.ENTRY_COUNT)
                .setSize(settings.nearCacheSize())))
        .setMapStoreConfig(new MapStoreConfig()
            .setEnabled(true)
            .setImplementation(store)
            .setWriteDelaySeconds(0)
            .setInitialLoadMode(MapStoreConfig.InitialLoadMode.EAGER));
  }

  /** The consumer holding the key whose SHA-256 digest is {@code digestHex} (lower-case hex), if any. */
  public Optional<DirectoryConsumer> consumerForKey(String digestHex) {
    DirectoryKey key = keys.get(digestHex);
    return key == null ? Optional.empty() : Optional.ofNullable(consumers.get(key.consumerId()));
  }

  /** The consumer holding {@code apiKey}, if any. */
  public Optional<DirectoryConsumer> consumerForApiKey(String apiKey) {
    return consumerForKey(digest(apiKey));
  }

  public Optional<DirectoryConsumer> consumer(String id) {
    return Optional.ofNullable(consumers.get(id));
  }

  /** Creates or replaces a consumer; stored before this returns. */
  public void putConsumer(DirectoryConsumer consumer) {
    consumers.set(consumer.id(), consumer);
  }

  /** Creates a consumer unless its id is taken, atomically across members; false if it was taken. */
  public boolean createConsumer(DirectoryConsumer consumer) {
    return consumers.putIfAbsent(consumer.id(), consumer) == null;
  }

  /** Replaces an existing consumer, atomically across members; false if there was none. */
  public boolean replaceConsumer(DirectoryConsumer consumer) {
    return consumers.replace(consumer.id(), consumer) != null;
  }

  /** Removes a consumer and revokes all its keys; false if there was no such consumer. */
  public boolean deleteConsumer(String id) {
    for (Map.Entry<String, DirectoryKey> key : keys.entrySet(Predicates.equal("consumerId", id))) {
      keys.delete(key.getKey());
    }
    return consumers.remove(id) != null;
  }

  /** Issues a new key for an existing consumer: 256 random bits, shown once, kept as a digest. */
  public IssuedKey issueKey(String consumerId) {
    if (!consumers.containsKey(consumerId)) {
      throw new NoSuchElementException("no consumer " + consumerId);
    }
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    String key = "tg_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    String keyId = newKeyId();
    long now = clock.millis();
    keys.set(digest(key), new DirectoryKey(consumerId, keyId, now));
    return new IssuedKey(keyId, key, now);
  }

  /** A key made elsewhere (by the gateway this one replaces, say) and the consumer it belongs to. */
  public record KeyImport(String consumerId, String apiKey) {

    public KeyImport {
      Objects.requireNonNull(consumerId, "consumerId");
      Objects.requireNonNull(apiKey, "apiKey");
    }

    @Override
    public String toString() {
      return "KeyImport[consumerId=" + consumerId + ", apiKey=(hidden)]";
    }
  }

  /** Keys stored per {@code putAll}, which the database receives as one batch per member. */
  private static final int IMPORT_BATCH = 10_000;

  /**
   * Imports keys in bulk, each under a new key id; they are stored in the database, in batches,
   * before this returns. Everything is checked first: if a consumer does not exist, a key is
   * already in the directory, or a key is listed twice, nothing is imported.
   *
   * @return the new key ids, in the order of {@code imports}
   * @throws IllegalArgumentException naming every refused import (keys are never shown)
   */
  public List<String> importKeys(List<KeyImport> imports) {
    List<String> errors = new ArrayList<>();
    Set<String> consumerIds = new HashSet<>();
    imports.forEach(i -> consumerIds.add(i.consumerId()));
    Set<String> known = consumers.getAll(consumerIds).keySet();
    consumerIds.stream().filter(id -> !known.contains(id)).sorted()
        .forEach(id -> errors.add("consumer " + id + ": no such consumer"));
    List<String> digests = new ArrayList<>(imports.size());
    Map<String, Integer> firstAt = new HashMap<>();
    for (int i = 0; i < imports.size(); i++) {
      String d = digest(imports.get(i).apiKey());
      digests.add(d);
      Integer earlier = firstAt.putIfAbsent(d, i);
      if (earlier != null) {
        errors.add("imports[" + i + "]: the same key as imports[" + earlier + "]");
      }
    }
    for (int from = 0; from < digests.size(); from += IMPORT_BATCH) {
      List<String> batch = digests.subList(from, Math.min(digests.size(), from + IMPORT_BATCH));
      for (String taken : keys.getAll(new HashSet<>(batch)).keySet()) {
        errors.add("imports[" + firstAt.get(taken) + "]: the key is already in the directory");
      }
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(errors.size() + " import(s) refused, nothing imported: " + String.join("; ", errors));
    }
    long now = clock.millis();
    List<String> ids = new ArrayList<>(imports.size());
    Map<String, DirectoryKey> batch = new HashMap<>();
    for (int i = 0; i < imports.size(); i++) {
      String keyId = newKeyId();
      ids.add(keyId);
      batch.put(digests.get(i), new DirectoryKey(imports.get(i).consumerId(), keyId, now));
      if (batch.size() == IMPORT_BATCH || i == imports.size() - 1) {
        keys.putAll(batch);
        batch.clear();
      }
    }
    return ids;
  }

  private static String newKeyId() {
    byte[] id = new byte[8];
    RANDOM.nextBytes(id);
    return HexFormat.of().formatHex(id);
  }

  /** How many keys the directory holds, over all members. */
  public int keyCount() {
    return keys.size();
  }

  /** Revokes one key of a consumer; false if it has no such key. */
  public boolean revokeKey(String consumerId, String keyId) {
    boolean revoked = false;
    for (Map.Entry<String, DirectoryKey> key : keys.entrySet(
        Predicates.and(Predicates.equal("consumerId", consumerId), Predicates.equal("keyId", keyId)))) {
      keys.delete(key.getKey());
      revoked = true;
    }
    return revoked;
  }

  /** The keys of a consumer, oldest first. */
  public List<KeyInfo> keys(String consumerId) {
    return keys.values(Predicates.equal("consumerId", consumerId)).stream()
        .map(k -> new KeyInfo(k.keyId(), k.createdAtMillis()))
        .sorted(Comparator.comparingLong(KeyInfo::createdAtMillis).thenComparing(KeyInfo::keyId))
        .toList();
  }

  /**
   * One near cache's figures on this member since it started: lookups it answered, lookups that
   * went to the entry's member, and the entries it holds now.
   */
  public record NearCacheCounts(long hits, long misses, long entries) {}

  /** This member's near caches, by map: {@code consumers} and {@code api_keys}. */
  public Map<String, NearCacheCounts> nearCaches() {
    return Map.of("consumers", nearCache(consumers), "api_keys", nearCache(keys));
  }

  private static NearCacheCounts nearCache(IMap<?, ?> map) {
    com.hazelcast.nearcache.NearCacheStats stats = map.getLocalMapStats().getNearCacheStats();
    return stats == null ? new NearCacheCounts(0, 0, 0)
        : new NearCacheCounts(stats.getHits(), stats.getMisses(), stats.getOwnedEntryCount());
  }

  /** How many members the directory's cluster has, as this member sees it. */
  public int members() {
    return member.getCluster().getMembers().size();
  }

  @Override
  public void close() {
    member.shutdown();
    tables.close();
  }

  /** The SHA-256 digest of a key, in lower-case hex: what the directory keeps instead of the key. */
  public static String digest(String apiKey) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(apiKey.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
