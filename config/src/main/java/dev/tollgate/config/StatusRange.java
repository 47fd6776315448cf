package dev.tollgate.config;

/** An inclusive range of HTTP status codes, written {@code 200} or {@code 200-399}. */
public record StatusRange(int from, int to) {

  public StatusRange {
    if (from < 100 || to > 599 || from > to) {
      throw new IllegalArgumentException("not a status range: " + from + "-" + to);
    }
  }

  public boolean contains(int status) {
    return status >= from && status <= to;
  }

  @Override
  public String toString() {
    return from == to ? Integer.toString(from) : from + "-" + to;
  }
}
