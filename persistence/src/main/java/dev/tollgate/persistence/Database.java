package dev.tollgate.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where durable state lives: an H2 file under the node's data directory (the embedded default),
 * or a PostgreSQL database shared by the nodes of a cluster.
 */
public record Database(Dialect dialect, String url, String user, String password) {

  /** The SQL dialects Tollgate supports, with the plugin's DDL and Slick profile for each. */
  public enum Dialect {
    H2("schema/h2/h2-create-schema.sql", "slick.jdbc.H2Profile$", "org.h2.Driver"),
    POSTGRES("schema/postgres/postgres-create-schema.sql", "slick.jdbc.PostgresProfile$", "org.postgresql.Driver");

    final String ddlResource;
    final String slickProfile;
    final String driver;

    Dialect(String ddlResource, String slickProfile, String driver) {
      this.ddlResource = ddlResource;
      this.slickProfile = slickProfile;
      this.driver = driver;
    }
  }

  public Database {
    Objects.requireNonNull(dialect, "dialect");
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(password, "password");
  }

  /** An H2 database in {@code dataDir/tollgate.mv.db}, created on first use. */
  public static Database h2(Path dataDir) {
    Path file = dataDir.toAbsolutePath().resolve("tollgate");
    // DATABASE_TO_UPPER=false: the plugin's DDL quotes lower-case table names, while its durable
    // state queries leave them unquoted; H2 must not fold those to upper case.
    return new Database(Dialect.H2, "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;DATABASE_TO_UPPER=false", "sa", "");
  }

  public static Database postgres(String url, String user, String password) {
    return new Database(Dialect.POSTGRES, url, user, password);
  }

  /**
   * The persistence settings for an actor system: the JDBC journal, snapshot store and durable
   * state store over one shared Slick database.
   *
   * @param maxConnections the connection pool's size
   */
  public Config pekkoConfig(int maxConnections) {
    String slick = "pekko-persistence-jdbc.shared-databases.slick";
    Config db = ConfigFactory.parseMap(Map.of(
        "profile", dialect.slickProfile,
        "db.url", url,
        "db.user", user,
        "db.password", password,
        "db.driver", dialect.driver,
        "db.numThreads", maxConnections,
        "db.maxConnections", maxConnections,
        "db.minConnections", 1));
    return ConfigFactory.empty()
        .withValue(slick, db.root())
        .withValue("pekko.persistence.journal.plugin", ConfigValueFactory.fromAnyRef("jdbc-journal"))
        .withValue("pekko.persistence.snapshot-store.plugin", ConfigValueFactory.fromAnyRef("jdbc-snapshot-store"))
        .withValue("pekko.persistence.state.plugin", ConfigValueFactory.fromAnyRef("jdbc-durable-state-store"))
        .withValue("jdbc-journal.use-shared-db", ConfigValueFactory.fromAnyRef("slick"))
        .withValue("jdbc-snapshot-store.use-shared-db", ConfigValueFactory.fromAnyRef("slick"))
        .withValue("jdbc-durable-state-store.use-shared-db", ConfigValueFactory.fromAnyRef("slick"))
        .withValue("jdbc-read-journal.use-shared-db", ConfigValueFactory.fromAnyRef("slick"));
  }

  @Override
  public String toString() {
    return dialect + " " + url + " as " + user; // never the password
  }
}
