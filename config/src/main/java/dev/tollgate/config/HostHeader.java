package dev.tollgate.config;

import java.util.Objects;

/**
 * The {@code Host} header an upstream receives: the target's own authority (the default), the
 * client's original {@code Host}, or a fixed value.
 */
public record HostHeader(Mode mode, String value) {

  public enum Mode { TARGET, PRESERVE, FIXED }

  public HostHeader {
    Objects.requireNonNull(mode, "mode");
    if (mode == Mode.FIXED) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException("a fixed Host header needs a value");
      }
    } else {
      value = "";
    }
  }

  public static HostHeader target() {
    return new HostHeader(Mode.TARGET, "");
  }

  public static HostHeader preserve() {
    return new HostHeader(Mode.PRESERVE, "");
  }

  public static HostHeader fixed(String host) {
    return new HostHeader(Mode.FIXED, host);
  }
}
