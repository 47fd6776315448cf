package dev.tollgate.persistence;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the tables of pekko-persistence-jdbc from the plugin's own DDL, idempotently: every node
 * runs it at start-up, several at once in a cluster. The plugin's scripts create their indexes
 * without {@code IF NOT EXISTS}; each statement is given it, so a second run changes nothing. On
 * PostgreSQL a session advisory lock serializes nodes starting together. The script's
 * {@code CREATE INDEX CONCURRENTLY} becomes a plain {@code CREATE INDEX}: a concurrent build waits
 * for every other session's snapshot, including those of nodes waiting for the lock, which
 * deadlocks; at start-up the tables are new or the index exists, so nothing is gained by it.
 */
public final class DatabaseSchema {

  private static final Logger log = LoggerFactory.getLogger(DatabaseSchema.class);
  private static final Pattern CREATE_INDEX =
      Pattern.compile("(?i)^(CREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+)(?:CONCURRENTLY\\s+)?(?!IF\\s+NOT\\s+EXISTS)");
  /** An arbitrary constant: the key of the advisory lock that guards schema creation. */
  private static final long LOCK_KEY = 0x746f6c6c67617465L;

  private DatabaseSchema() {}

  /** Creates whatever of the schema is missing. */
  public static void create(Database database) throws SQLException {
    try (Connection c = DriverManager.getConnection(database.url(), database.user(), database.password())) {
      c.setAutoCommit(true);
      boolean postgres = database.dialect() == Database.Dialect.POSTGRES;
      try (Statement s = c.createStatement()) {
        if (postgres) {
          s.execute("SELECT pg_advisory_lock(" + LOCK_KEY + ")");
        }
        try {
          for (String statement : statements(database.dialect())) {
            s.execute(statement);
          }
        } finally {
          if (postgres) {
            s.execute("SELECT pg_advisory_unlock(" + LOCK_KEY + ")");
          }
        }
      }
    }
    log.info("Database schema ready: {}", database);
  }

  /** The plugin's DDL for the dialect, one statement each, made idempotent. */
  static List<String> statements(Database.Dialect dialect) {
    String script;
    try (InputStream in = DatabaseSchema.class.getClassLoader().getResourceAsStream(dialect.ddlResource)) {
      if (in == null) {
        throw new IllegalStateException("pekko-persistence-jdbc's " + dialect.ddlResource + " is not on the class path");
      }
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> out = new ArrayList<>();
    for (String raw : script.split(";")) {
      String statement = raw.strip();
      if (statement.isEmpty()) {
        continue;
      }
      Matcher m = CREATE_INDEX.matcher(statement);
      out.add(m.find() ? m.replaceFirst("$1IF NOT EXISTS ") : statement);
    }
    return out;
  }
}
