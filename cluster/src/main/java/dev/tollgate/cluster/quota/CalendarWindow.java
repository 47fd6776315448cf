package dev.tollgate.cluster.quota;

import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The window a limit counts in: a UTC calendar month, or a fixed duration of one second or more
 * counted from the Unix epoch ({@code second}, {@code minute}, {@code hour} and {@code day} are the
 * fixed durations 1s, 1m, 1h and 1d, which coincide with UTC calendar minutes, hours and days because
 * {@link Instant} has no leap seconds).
 *
 * <p>Invariants: for every instant {@code now}, {@code start(now) <= now < end(now)}; all instants
 * of one window share one {@link #id(Instant) id}, and ids grow with time. Ids are epoch-based
 * indexes for fixed durations and {@code yyyymm} for months.
 *
 * @param per how the window was written in the configuration, such as {@code month} or {@code 30d}
 * @param length the fixed length, or {@code null} for calendar months
 */
public record CalendarWindow(String per, Duration length) {

  private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,9})([smhd])");
  private static final String EXPECTED =
      "expected: second, minute, hour, day, month, or a duration of at least 1 second such as 1s, 5m, 1h, 30d";

  public CalendarWindow {
    Objects.requireNonNull(per, "per");
    if (length != null && length.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("per: \"" + per + "\" (" + EXPECTED + ")");
    }
  }

  /**
   * Reads a window as written in the configuration.
   *
   * @throws IllegalArgumentException naming the text and what was expected
   */
  public static CalendarWindow of(String per) {
    Objects.requireNonNull(per, "per");
    switch (per) {
      case "second":
        return new CalendarWindow(per, Duration.ofSeconds(1));
      case "minute":
        return new CalendarWindow(per, Duration.ofMinutes(1));
      case "hour":
        return new CalendarWindow(per, Duration.ofHours(1));
      case "day":
        return new CalendarWindow(per, Duration.ofDays(1));
      case "month":
        return new CalendarWindow(per, null);
      default:
        Matcher m = DURATION.matcher(per);
        if (!m.matches()) {
          throw new IllegalArgumentException("per: \"" + per + "\" (" + EXPECTED + ")");
        }
        long amount = Long.parseLong(m.group(1));
        Duration length = switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(amount);
          case "m" -> Duration.ofMinutes(amount);
          case "h" -> Duration.ofHours(amount);
          default -> Duration.ofDays(amount);
        };
        return new CalendarWindow(per, length);
    }
  }

  /** Whether this is a UTC calendar month rather than a fixed duration. */
  public boolean isCalendarMonth() {
    return length == null;
  }

  /** The first instant of the window containing {@code now}. */
  public Instant start(Instant now) {
    if (isCalendarMonth()) {
      return month(now).atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }
    return Instant.ofEpochSecond(Math.multiplyExact(index(now), length.getSeconds()));
  }

  /** The first instant after the window containing {@code now}: the start of the next one. */
  public Instant end(Instant now) {
    if (isCalendarMonth()) {
      return month(now).plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }
    return start(now).plus(length);
  }

  /** A stable id of the window containing {@code now}. */
  public long id(Instant now) {
    if (isCalendarMonth()) {
      YearMonth month = month(now);
      return month.getYear() * 100L + month.getMonthValue();
    }
    return index(now);
  }

  private long index(Instant now) {
    return Math.floorDiv(now.getEpochSecond(), length.getSeconds());
  }

  private static YearMonth month(Instant now) {
    return YearMonth.from(now.atOffset(ZoneOffset.UTC));
  }

  @Override
  public String toString() {
    return per;
  }
}
