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
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

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
   */
  public record Settings(String clusterName, String host, int port, List<String> members, int backupCount,
      int nearCacheSize) {

    public Settings {
      Objects.requireNonNull(clusterName, "clusterName");
      Objects.requireNonNull(host, "host");
      members = List.copyOf(members);
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
  private final IMap<String, DirectoryConsumer> consumers;
  private final IMap<String, DirectoryKey> keys;
  private final Clock clock;

  private CredentialDirectory(HazelcastInstance member, Clock clock) {
    this.member = member;
    this.consumers = member.getMap(CONSUMERS);
    this.keys = member.getMap(KEYS);
    this.clock = clock;
  }

  /** Creates the directory's tables if need be, starts this node's member and joins the others. */
  public static CredentialDirectory start(Settings settings, Database database, Clock clock) throws SQLException {
    DirectoryTables tables = new DirectoryTables(database);
    tables.create();
    return new CredentialDirectory(Hazelcast.newHazelcastInstance(config(settings, tables)), clock);
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
    join.getTcpIpConfig().setEnabled(true).setMembers(settings.members().isEmpty()
        ? List.of(settings.host() + ":" + settings.port()) : settings.members());
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
    byte[] id = new byte[8];
    RANDOM.nextBytes(id);
    String keyId = HexFormat.of().formatHex(id);
    long now = clock.millis();
    keys.set(digest(key), new DirectoryKey(consumerId, keyId, now));
    return new IssuedKey(keyId, key, now);
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

  /** How many members the directory's cluster has, as this member sees it. */
  public int members() {
    return member.getCluster().getMembers().size();
  }

  @Override
  public void close() {
    member.shutdown();
  }

  static String digest(String apiKey) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(apiKey.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
