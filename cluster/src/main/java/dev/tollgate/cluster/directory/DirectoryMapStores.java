package dev.tollgate.cluster.directory;

import com.hazelcast.map.MapStore;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Write-through persistence of the directory's maps: an operator's change is stored before the
 * map takes it (a failed write fails the change and leaves the map as it was), and the cluster
 * loads every entry when it starts. A key that is not in a map after that load does not exist, so
 * {@code load} of a single key answers "none" without asking the database: a flood of wrong API
 * keys costs no query.
 */
final class DirectoryMapStores {

  private DirectoryMapStores() {}

  static final class Consumers implements MapStore<String, DirectoryConsumer> {
    private final DirectoryTables tables;

    Consumers(DirectoryTables tables) {
      this.tables = tables;
    }

    @Override
    public void store(String id, DirectoryConsumer consumer) {
      run(() -> tables.storeConsumers(List.of(consumer)));
    }

    @Override
    public void storeAll(Map<String, DirectoryConsumer> entries) {
      run(() -> tables.storeConsumers(entries.values()));
    }

    @Override
    public void delete(String id) {
      run(() -> tables.delete("tollgate_consumer", "id", List.of(id)));
    }

    @Override
    public void deleteAll(Collection<String> ids) {
      run(() -> tables.delete("tollgate_consumer", "id", ids));
    }

    @Override
    public DirectoryConsumer load(String id) {
      return null;
    }

    @Override
    public Map<String, DirectoryConsumer> loadAll(Collection<String> ids) {
      return call(() -> tables.consumers(ids));
    }

    @Override
    public Iterable<String> loadAllKeys() {
      return call(() -> tables.allIds("tollgate_consumer", "id"));
    }
  }

  static final class Keys implements MapStore<String, DirectoryKey> {
    private final DirectoryTables tables;

    Keys(DirectoryTables tables) {
      this.tables = tables;
    }

    @Override
    public void store(String digest, DirectoryKey key) {
      run(() -> tables.storeKeys(Map.of(digest, key)));
    }

    @Override
    public void storeAll(Map<String, DirectoryKey> entries) {
      run(() -> tables.storeKeys(entries));
    }

    @Override
    public void delete(String digest) {
      run(() -> tables.delete("tollgate_api_key", "digest", List.of(digest)));
    }

    @Override
    public void deleteAll(Collection<String> digests) {
      run(() -> tables.delete("tollgate_api_key", "digest", digests));
    }

    @Override
    public DirectoryKey load(String digest) {
      return null;
    }

    @Override
    public Map<String, DirectoryKey> loadAll(Collection<String> digests) {
      return call(() -> tables.keys(digests));
    }

    @Override
    public Iterable<String> loadAllKeys() {
      return call(() -> tables.allIds("tollgate_api_key", "digest"));
    }
  }

  private interface SqlAction {
    void run() throws SQLException;
  }

  private interface SqlCall<T> {
    T call() throws SQLException;
  }

  private static void run(SqlAction action) {
    try {
      action.run();
    } catch (SQLException e) {
      throw new DirectoryUnavailableException("the directory's database did not take the change: " + e.getMessage(), e);
    }
  }

  private static <T> T call(SqlCall<T> call) {
    try {
      return call.call();
    } catch (SQLException e) {
      throw new DirectoryUnavailableException("the directory's database could not be read: " + e.getMessage(), e);
    }
  }
}
