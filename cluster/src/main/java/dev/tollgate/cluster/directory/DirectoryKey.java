package dev.tollgate.cluster.directory;

import java.util.Objects;

/**
 * What the directory knows of one API key, stored under the key's SHA-256 digest: whose it is, the
 * id it is revoked by, and when it was issued. Never the key itself.
 */
public record DirectoryKey(String consumerId, String keyId, long createdAtMillis) {

  public DirectoryKey {
    Objects.requireNonNull(consumerId, "consumerId");
    Objects.requireNonNull(keyId, "keyId");
  }
}
