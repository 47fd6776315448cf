package dev.tollgate.cluster.directory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.persistence.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The directory on real Hazelcast members (three in this JVM, on loopback ports) and real
 * databases: keys issued on one node work on the others, a revoked key stops working on every node
 * within a second, and a full restart keeps consumers and keys.
 */
class CredentialDirectoryTest {

  static EmbeddedPostgres postgres;

  @TempDir
  static Path dataDir;

  @BeforeAll
  static void startPostgres() throws IOException {
    postgres = EmbeddedPostgres.start();
  }

  @AfterAll
  static void stopPostgres() throws IOException {
    postgres.close();
  }

  static Database postgresDatabase() {
    return Database.postgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "postgres");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static List<CredentialDirectory> startMembers(int count, Database database, String cluster) throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ports.add(freePort());
    }
    List<String> members = ports.stream().map(p -> "127.0.0.1:" + p).toList();
    List<CompletableFuture<CredentialDirectory>> starting = new ArrayList<>();
    for (int port : ports) {
      CredentialDirectory.Settings settings = new CredentialDirectory.Settings(cluster, "127.0.0.1", port, members, 1, 10_000);
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return CredentialDirectory.start(settings, database, Clock.systemUTC());
        } catch (java.sql.SQLException e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    List<CredentialDirectory> started = new ArrayList<>();
    for (CompletableFuture<CredentialDirectory> f : starting) {
      started.add(f.get());
    }
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (started.stream().anyMatch(d -> d.members() < count) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(started).allSatisfy(d -> assertThat(d.members()).isEqualTo(count));
    return started;
  }

  /**
   * With a service DNS name, the member joins through Hazelcast's Kubernetes discovery in DNS mode
   * (every address of the name at the member's port) instead of TCP-IP, and starts without the
   * Kubernetes API: here "localhost" names this member alone. Several members finding each other
   * this way need several addresses at one port, which loopback in one JVM does not give (Hazelcast
   * binds only to addresses of a network interface, and 127.0.0.2 is none).
   */
  @Test
  void aMemberWithAServiceDnsNameJoinsThroughDnsDiscoveryAndStartsWithoutTheKubernetesApi() throws Exception {
    int port = freePort();
    CredentialDirectory.Settings settings =
        new CredentialDirectory.Settings("dns-test", "127.0.0.1", port, List.of(), 1, 1000, "localhost");
    com.hazelcast.config.JoinConfig join = CredentialDirectory.config(settings, null).getNetworkConfig().getJoin();
    assertThat(join.getTcpIpConfig().isEnabled()).isFalse();
    assertThat(join.getKubernetesConfig().isEnabled()).isTrue();
    assertThat(join.getKubernetesConfig().getProperties())
        .containsEntry("service-dns", "localhost")
        .containsEntry("service-port", String.valueOf(port));

    // A database of its own: the PostgreSQL one is shared, and other tests count the keys stored there.
    CredentialDirectory member = CredentialDirectory.start(settings, Database.h2(dataDir.resolve("dns")), Clock.systemUTC());
    try {
      assertThat(member.members()).isEqualTo(1);
      member.putConsumer(new DirectoryConsumer("dns-acme", Optional.empty(), List.of()));
      CredentialDirectory.IssuedKey key = member.issueKey("dns-acme");
      assertThat(member.consumerForApiKey(key.key())).map(DirectoryConsumer::id).contains("dns-acme");
    } finally {
      member.close();
    }
  }

  @Test
  void aKeyRevokedOnOneNodeStopsWorkingOnTheOthersWithinASecondAndARestartKeepsTheRest() throws Exception {
    List<CredentialDirectory> nodes = startMembers(3, postgresDatabase(), "revoke-test");
    CredentialDirectory a = nodes.get(0);
    CredentialDirectory b = nodes.get(1);
    CredentialDirectory c = nodes.get(2);
    CredentialDirectory.IssuedKey revoked;
    CredentialDirectory.IssuedKey kept;
    try {
      a.putConsumer(new DirectoryConsumer("acme", Optional.of("gold"), List.of("partners")));
      revoked = a.issueKey("acme");
      kept = a.issueKey("acme");
      assertThat(revoked.key()).startsWith("tg_").hasSize(46);
      assertThat(revoked.toString()).doesNotContain(revoked.key());
      DirectoryConsumer acme = new DirectoryConsumer("acme", Optional.of("gold"), List.of("partners"));
      // Read on every node, so that their near caches hold the key when it is revoked.
      for (int i = 0; i < 3; i++) {
        assertThat(b.consumerForApiKey(revoked.key())).contains(acme);
        assertThat(c.consumerForApiKey(revoked.key())).contains(acme);
      }
      assertThat(c.consumerForApiKey("tg_not-a-key-of-anyone")).isEmpty();

      long start = System.nanoTime();
      assertThat(a.revokeKey("acme", revoked.keyId())).isTrue();
      while ((b.consumerForApiKey(revoked.key()).isPresent() || c.consumerForApiKey(revoked.key()).isPresent())
          && System.nanoTime() - start < 5_000_000_000L) {
        Thread.onSpinWait();
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      System.out.printf("revoked key refused on the other two nodes after %d ms%n", millis);
      assertThat(b.consumerForApiKey(revoked.key())).isEmpty();
      assertThat(c.consumerForApiKey(revoked.key())).isEmpty();
      assertThat(millis).as("ms until the other nodes refuse a revoked key").isLessThanOrEqualTo(1000);
      assertThat(b.consumerForApiKey(kept.key())).contains(acme);
      assertThat(c.keys("acme")).extracting(CredentialDirectory.KeyInfo::keyId).containsExactly(kept.keyId());
      assertThat(a.revokeKey("acme", revoked.keyId())).as("revoked already").isFalse();
      assertThatThrownBy(() -> b.issueKey("nobody")).isInstanceOf(NoSuchElementException.class);
    } finally {
      nodes.forEach(CredentialDirectory::close);
    }

    // A full restart: everything comes back from PostgreSQL.
    List<CredentialDirectory> again = startMembers(2, postgresDatabase(), "revoke-test");
    try {
      assertThat(again.get(1).consumerForApiKey(kept.key()))
          .contains(new DirectoryConsumer("acme", Optional.of("gold"), List.of("partners")));
      assertThat(again.get(0).consumerForApiKey(revoked.key())).isEmpty();
      assertThat(again.get(0).keys("acme")).extracting(CredentialDirectory.KeyInfo::keyId).containsExactly(kept.keyId());
      assertThat(again.get(0).deleteConsumer("acme")).isTrue();
      // Other members' near caches learn of it as of a revocation: within a second, not at once.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(1))
          .pollInterval(java.time.Duration.ofMillis(5))
          .untilAsserted(() -> {
            assertThat(again.get(1).consumerForApiKey(kept.key())).as("deleting a consumer revokes its keys").isEmpty();
            assertThat(again.get(1).consumer("acme")).isEmpty();
          });
    } finally {
      again.forEach(CredentialDirectory::close);
    }
  }

  @Test
  void aSingleNodeKeepsItsDirectoryInH2() throws Exception {
    Database h2 = Database.h2(dataDir.resolve("directory"));
    CredentialDirectory.IssuedKey key;
    try (CredentialDirectory one = startMembers(1, h2, "h2-test").get(0)) {
      assertThat(one.replaceConsumer(new DirectoryConsumer("zed@example.com", Optional.of("free"), List.of())))
          .as("nothing to replace yet").isFalse();
      assertThat(one.createConsumer(new DirectoryConsumer("zed@example.com", Optional.empty(), List.of()))).isTrue();
      assertThat(one.createConsumer(new DirectoryConsumer("zed@example.com", Optional.of("gold"), List.of())))
          .as("the id is taken").isFalse();
      key = one.issueKey("zed@example.com");
      assertThat(one.replaceConsumer(new DirectoryConsumer("zed@example.com", Optional.of("free"), List.of("a", "b"))))
          .isTrue();
    }
    try (CredentialDirectory one = startMembers(1, h2, "h2-test").get(0)) {
      assertThat(one.consumerForApiKey(key.key()))
          .contains(new DirectoryConsumer("zed@example.com", Optional.of("free"), List.of("a", "b")));
    }
  }

  @Test
  void importedKeysAreCheckedWholeThenStoredInBatches() throws Exception {
    Database db = postgresDatabase();
    List<CredentialDirectory.KeyImport> imports = new ArrayList<>();
    for (int k = 0; k < 25_000; k++) {
      imports.add(new CredentialDirectory.KeyImport("importer-" + (k % 10), "tg_imported_" + k));
    }
    List<CredentialDirectory> two = startMembers(2, db, "import-test");
    try {
      for (int c = 0; c < 10; c++) {
        two.get(0).createConsumer(new DirectoryConsumer("importer-" + c, Optional.of("gold"), List.of()));
      }
      two.get(0).issueKey("importer-3");
      List<CredentialDirectory.KeyImport> bad = new ArrayList<>(imports.subList(0, 100));
      bad.add(new CredentialDirectory.KeyImport("nobody", "tg_imported_x"));
      bad.add(new CredentialDirectory.KeyImport("importer-1", "tg_imported_5"));
      assertThatThrownBy(() -> two.get(0).importKeys(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("2 import(s) refused, nothing imported")
          .hasMessageContaining("consumer nobody: no such consumer")
          .hasMessageContaining("imports[101]: the same key as imports[5]")
          .hasMessageNotContaining("tg_imported");
      assertThat(two.get(1).keyCount()).as("nothing half-applied").isEqualTo(1);

      List<String> ids = two.get(0).importKeys(imports);
      assertThat(ids).hasSize(imports.size()).doesNotHaveDuplicates();
      assertThat(two.get(1).keyCount()).isEqualTo(25_001);
      assertThat(two.get(1).consumerForApiKey("tg_imported_24999"))
          .contains(new DirectoryConsumer("importer-9", Optional.of("gold"), List.of()));
      assertThatThrownBy(() -> two.get(1).importKeys(imports.subList(7, 8)))
          .hasMessageContaining("imports[0]: the key is already in the directory");
    } finally {
      two.forEach(CredentialDirectory::close);
    }
    // Stored, not only held: a full restart brings every imported key back from PostgreSQL.
    try (CredentialDirectory again = startMembers(1, db, "import-test").get(0)) {
      assertThat(again.keyCount()).isEqualTo(25_001);
      assertThat(again.consumerForApiKey("tg_imported_0"))
          .contains(new DirectoryConsumer("importer-0", Optional.of("gold"), List.of()));
    }
  }
}
