package dev.tollgate.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/** The SHA-256 digest of an API key, as 64 lower-case hex digits. */
public record ApiKeyDigest(String sha256Hex) {

  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public ApiKeyDigest {
    Objects.requireNonNull(sha256Hex, "sha256Hex");
    if (!HEX.matcher(sha256Hex).matches()) {
      throw new IllegalArgumentException("sha256Hex: expected 64 lower-case hex digits");
    }
  }

  /** The digest of a key as presented by a caller (its UTF-8 bytes). */
  public static ApiKeyDigest of(String key) {
    return new ApiKeyDigest(HexFormat.of().formatHex(sha256(key.getBytes(StandardCharsets.UTF_8))));
  }

  public byte[] bytes() {
    return HexFormat.of().parseHex(sha256Hex);
  }

  /** Whether {@code hex} is a well-formed digest (any case is accepted and folded by the loader). */
  public static boolean isHex(String hex) {
    return HEX.matcher(hex).matches();
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "sha256:" + sha256Hex.substring(0, 8) + "…";
  }
}
