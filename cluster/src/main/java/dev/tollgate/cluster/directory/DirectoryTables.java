package dev.tollgate.cluster.directory;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.tollgate.persistence.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The directory's two tables, in the same database as the rest of the node's durable state:
 * {@code tollgate_consumer} and {@code tollgate_api_key} (keys by SHA-256 digest, never the key).
 * Statements run on a small pool of connections that empties when the directory is idle: the
 * directory writes only when an operator changes it (or imports keys in bulk), and reads only when
 * the cluster starts.
 */
final class DirectoryTables implements AutoCloseable {

  /** Connections at most: the member's partition threads store in parallel, the database need not see more. */
  private static final int POOL_SIZE = 4;

  private static final List<String> DDL = List.of(
      "CREATE TABLE IF NOT EXISTS tollgate_consumer ("
          + "id VARCHAR(128) PRIMARY KEY, plan VARCHAR(128), groups_text VARCHAR(8192) NOT NULL)",
      "CREATE TABLE IF NOT EXISTS tollgate_api_key ("
          + "digest VARCHAR(64) PRIMARY KEY, consumer_id VARCHAR(128) NOT NULL, key_id VARCHAR(64) NOT NULL,"
          + " created_at BIGINT NOT NULL)");

  private final HikariDataSource pool;
  private final boolean postgres;

  DirectoryTables(Database database) {
    this.postgres = database.dialect() == Database.Dialect.POSTGRES;
    HikariConfig config = new HikariConfig();
    config.setPoolName("tollgate-directory");
    config.setJdbcUrl(database.url());
    config.setUsername(database.user());
    config.setPassword(database.password());
    config.setMaximumPoolSize(POOL_SIZE);
    config.setMinimumIdle(0);
    config.setIdleTimeout(60_000);
    // A database that is down fails a change within seconds, rather than holding the admin's request.
    config.setConnectionTimeout(5_000);
    // Start without a connection: the first statement makes one, and says why if it cannot.
    config.setInitializationFailTimeout(-1);
    this.pool = new HikariDataSource(config);
  }

  @Override
  public void close() {
    pool.close();
  }

  /** Creates the tables if they are missing; several nodes may do it at once. */
  void create() throws SQLException {
    SQLException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try (Connection c = connect(); Statement s = c.createStatement()) {
        for (String ddl : DDL) {
          s.execute(ddl);
        }
        return;
      } catch (java.sql.SQLTransientConnectionException unreachable) {
        throw unreachable;
      } catch (SQLException e) {
        // Two nodes creating the same table at the same moment: one of them loses; the next try sees it.
        last = e;
      }
    }
    throw last;
  }

  private Connection connect() throws SQLException {
    return pool.getConnection();
  }

  void storeConsumers(Collection<DirectoryConsumer> consumers) throws SQLException {
    String sql = postgres
        ? "INSERT INTO tollgate_consumer (id, plan, groups_text) VALUES (?, ?, ?)"
            + " ON CONFLICT (id) DO UPDATE SET plan = EXCLUDED.plan, groups_text = EXCLUDED.groups_text"
        : "MERGE INTO tollgate_consumer (id, plan, groups_text) KEY (id) VALUES (?, ?, ?)";
    try (Connection conn = connect(); PreparedStatement s = conn.prepareStatement(sql)) {
      for (DirectoryConsumer c : consumers) {
        s.setString(1, c.id());
        s.setString(2, c.plan().orElse(null));
        s.setString(3, String.join("\n", c.groups()));
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  /** Stores keys by digest in one batch: a bulk import reaches the database in few round trips. */
  void storeKeys(Map<String, DirectoryKey> keys) throws SQLException {
    String sql = postgres
        ? "INSERT INTO tollgate_api_key (digest, consumer_id, key_id, created_at) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (digest) DO UPDATE SET consumer_id = EXCLUDED.consumer_id, key_id = EXCLUDED.key_id,"
            + " created_at = EXCLUDED.created_at"
        : "MERGE INTO tollgate_api_key (digest, consumer_id, key_id, created_at) KEY (digest) VALUES (?, ?, ?, ?)";
    try (Connection conn = connect(); PreparedStatement s = conn.prepareStatement(sql)) {
      for (Map.Entry<String, DirectoryKey> e : keys.entrySet()) {
        s.setString(1, e.getKey());
        s.setString(2, e.getValue().consumerId());
        s.setString(3, e.getValue().keyId());
        s.setLong(4, e.getValue().createdAtMillis());
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  void delete(String table, String column, Collection<String> ids) throws SQLException {
    try (Connection conn = connect();
        PreparedStatement s = conn.prepareStatement("DELETE FROM " + table + " WHERE " + column + " = ?")) {
      for (String id : ids) {
        s.setString(1, id);
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  List<String> allIds(String table, String column) throws SQLException {
    List<String> ids = new ArrayList<>();
    try (Connection conn = connect(); Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery("SELECT " + column + " FROM " + table)) {
      while (rs.next()) {
        ids.add(rs.getString(1));
      }
    }
    return ids;
  }

  Map<String, DirectoryConsumer> consumers(Collection<String> ids) throws SQLException {
    Map<String, DirectoryConsumer> found = new HashMap<>();
    if (ids.isEmpty()) {
      return found;
    }
    try (Connection conn = connect();
        PreparedStatement s = conn.prepareStatement(
            "SELECT id, plan, groups_text FROM tollgate_consumer WHERE id IN (" + marks(ids.size()) + ")")) {
      bind(s, ids);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          String groups = rs.getString(3);
          found.put(rs.getString(1), new DirectoryConsumer(rs.getString(1), Optional.ofNullable(rs.getString(2)),
              groups.isEmpty() ? List.of() : Arrays.asList(groups.split("\n"))));
        }
      }
    }
    return found;
  }

  Map<String, DirectoryKey> keys(Collection<String> digests) throws SQLException {
    Map<String, DirectoryKey> found = new HashMap<>();
    if (digests.isEmpty()) {
      return found;
    }
    try (Connection conn = connect();
        PreparedStatement s = conn.prepareStatement("SELECT digest, consumer_id, key_id, created_at FROM tollgate_api_key"
            + " WHERE digest IN (" + marks(digests.size()) + ")")) {
      bind(s, digests);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          found.put(rs.getString(1), new DirectoryKey(rs.getString(2), rs.getString(3), rs.getLong(4)));
        }
      }
    }
    return found;
  }

  private static String marks(int n) {
    return String.join(", ", java.util.Collections.nCopies(n, "?"));
  }

  private static void bind(PreparedStatement s, Collection<String> values) throws SQLException {
    int i = 1;
    for (String v : values) {
      s.setString(i++, v);
    }
  }
}
