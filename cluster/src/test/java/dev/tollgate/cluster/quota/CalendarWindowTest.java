package dev.tollgate.cluster.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CalendarWindowTest {

  private static final Instant NOW = Instant.parse("2024-02-29T13:45:30.250Z");

  @Test
  void hourIsTheUtcCalendarHour() {
    CalendarWindow hour = CalendarWindow.of("hour");

    assertThat(hour.start(NOW)).isEqualTo(Instant.parse("2024-02-29T13:00:00Z"));
    assertThat(hour.end(NOW)).isEqualTo(Instant.parse("2024-02-29T14:00:00Z"));
    assertThat(hour.id(NOW)).isEqualTo(NOW.getEpochSecond() / 3600);
  }

  @Test
  void dayIsTheUtcCalendarDay() {
    CalendarWindow day = CalendarWindow.of("day");

    assertThat(day.start(NOW)).isEqualTo(Instant.parse("2024-02-29T00:00:00Z"));
    assertThat(day.end(NOW)).isEqualTo(Instant.parse("2024-03-01T00:00:00Z"));
  }

  @Test
  void monthIsTheUtcCalendarMonthWithLeapFebruaries() {
    CalendarWindow month = CalendarWindow.of("month");

    assertThat(month.start(NOW)).isEqualTo(Instant.parse("2024-02-01T00:00:00Z"));
    assertThat(month.end(NOW)).isEqualTo(Instant.parse("2024-03-01T00:00:00Z"));
    assertThat(month.id(NOW)).isEqualTo(202402);
    assertThat(Duration.between(month.start(NOW), month.end(NOW))).isEqualTo(Duration.ofDays(29));

    Instant nonLeap = Instant.parse("2023-02-10T00:00:00Z");
    assertThat(Duration.between(month.start(nonLeap), month.end(nonLeap))).isEqualTo(Duration.ofDays(28));
    assertThat(month.id(Instant.parse("2023-12-31T23:59:59.999Z"))).isEqualTo(202312);
    assertThat(month.id(Instant.parse("2024-01-01T00:00:00Z"))).isEqualTo(202401);
  }

  @Test
  void fixedDurationsCountFromTheEpoch() {
    CalendarWindow thirtyDays = CalendarWindow.of("30d");

    assertThat(thirtyDays.start(NOW)).isEqualTo(Instant.parse("2024-02-17T00:00:00Z")); // epoch day 19782 = 30 * 659 + 12
    assertThat(thirtyDays.end(NOW)).isEqualTo(Instant.parse("2024-03-18T00:00:00Z"));
    assertThat(thirtyDays.id(NOW)).isEqualTo(659);
    assertThat(CalendarWindow.of("5m").start(NOW)).isEqualTo(Instant.parse("2024-02-29T13:45:00Z"));
    assertThat(CalendarWindow.of("1h").id(NOW)).isEqualTo(CalendarWindow.of("hour").id(NOW));
    assertThat(CalendarWindow.of("90s").end(NOW)).isEqualTo(Instant.parse("2024-02-29T13:46:30Z"));
  }

  @Test
  void aWindowEndIsTheNextWindowsStart() {
    for (String per : new String[] {"month", "day", "7d", "15m"}) {
      CalendarWindow window = CalendarWindow.of(per);
      Instant end = window.end(NOW);

      assertThat(window.start(end)).as(per).isEqualTo(end);
      assertThat(window.id(end)).as(per).isGreaterThan(window.id(NOW));
      assertThat(window.id(end.minusNanos(1))).as(per).isEqualTo(window.id(NOW));
    }
  }

  @Test
  void instantsBeforeTheEpochStillFallInTheirWindow() {
    Instant before = Instant.parse("1969-12-31T23:30:00Z");

    assertThat(CalendarWindow.of("hour").start(before)).isEqualTo(Instant.parse("1969-12-31T23:00:00Z"));
    assertThat(CalendarWindow.of("hour").id(before)).isEqualTo(-1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"3 fortnights", "", "week", "0d", "0s", "500ms", "1.5h", "-1h", "1H", "Month"})
  void rejectsWhatIsNotAWindow(String per) {
    assertThatThrownBy(() -> CalendarWindow.of(per))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("per: \"" + per + "\" (expected: second, minute, hour, day, month, or a duration of at least 1 second"
            + " such as 1s, 5m, 1h, 30d)");
  }
}
