package dev.tollgate.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code limits} and {@code on_unavailable} of a plan or of a route's {@code rate_limit},
 * reporting every problem it finds.
 */
final class LimitReader {

  static final List<String> KEYS = List.of("requests", "per", "burst");
  static final long MAX_REQUESTS = 1_000_000_000_000L;
  /**
   * A token bucket's refill multiplies a remainder of up to one period in nanoseconds by {@code
   * requests}; with at most 10^6 requests per at most 1h that stays below 3.6 × 10^18, within a long.
   */
  static final long MAX_BUCKET_REQUESTS = 1_000_000L;
  static final Duration MAX_BUCKET_PERIOD = Duration.ofHours(1);

  static final String LIMITS = "a non-empty list of limits such as - {requests: 100, per: 1m}";
  static final String PER = "second, minute, hour, day, month, or a whole number of s, m, h or d such as 10s, 5m, 1h, 30d";
  static final String ON_UNAVAILABLE = "one of deny, local_share";

  private static final String LIMIT = "a limit, a mapping with requests, per and an optional burst";
  private static final String REQUESTS = "an integer from 1 to " + MAX_REQUESTS;
  private static final String BURST = "an integer from 1 to " + MAX_REQUESTS;
  private static final String AT_LEAST_A_SECOND = "a period of at least 1s, written in s, m, h or d such as 1s or 10s";
  /** No leading zeros and at most ten digits, as {@code CalendarWindow} reads a period. */
  private static final Pattern PER_TEXT = Pattern.compile("([1-9][0-9]{0,9})([smhd])");
  private static final Pattern BELOW_A_SECOND = Pattern.compile("[0-9]+ms|0+[smhd]");
  private static final Map<String, Optional<Duration>> PER_WORDS = Map.of(
      "second", Optional.of(Duration.ofSeconds(1)),
      "minute", Optional.of(Duration.ofMinutes(1)),
      "hour", Optional.of(Duration.ofHours(1)),
      "day", Optional.of(Duration.ofDays(1)),
      "month", Optional.empty());
  private static final Map<String, OnUnavailable> ON_UNAVAILABLE_WORDS = new LinkedHashMap<>();

  static {
    ON_UNAVAILABLE_WORDS.put("deny", OnUnavailable.DENY);
    ON_UNAVAILABLE_WORDS.put("local_share", OnUnavailable.LOCAL_SHARE);
  }

  private LimitReader() {}

  /** A period as written and its fixed length, empty for {@code month}. */
  private record Period(String text, Optional<Duration> length) {}

  /** A limit read without errors, with where it is, for reporting and naming duplicates. */
  private record Read(Limit limit, String path, ConfigNode per) {}

  /** A non-empty list of limits, no two with the same {@link Limit#id()}; empty if any was reported. */
  static Optional<List<Limit>> limits(ConfigNode node) {
    Optional<List<ConfigNode>> list = node.list(LIMITS);
    if (list.isEmpty()) {
      return Optional.empty();
    }
    if (list.get().isEmpty()) {
      node.invalid(LIMITS);
      return Optional.empty();
    }
    List<Limit> limits = new ArrayList<>();
    Map<String, Read> seen = new LinkedHashMap<>();
    boolean complete = true;
    for (ConfigNode element : list.get()) {
      Optional<Read> read = limit(element);
      if (read.isEmpty()) {
        complete = false;
        continue;
      }
      Limit limit = read.get().limit();
      Read first = seen.putIfAbsent(limit.id(), read.get());
      if (first != null) {
        String kind = limit.isBucket() ? "token bucket" : "window";
        String earlier = YamlTree.display(first.path());
        read.get().per().invalid("a period no other " + kind + " of these limits has; " + earlier + " is a " + kind
            + " of the same length (per: " + first.limit().per() + ")");
        complete = false;
        continue;
      }
      limits.add(limit);
    }
    return complete ? Optional.of(limits) : Optional.empty();
  }

  /** {@code deny} or {@code local_share}. */
  static Optional<OnUnavailable> onUnavailable(ConfigNode node) {
    return node.word(ON_UNAVAILABLE_WORDS, ON_UNAVAILABLE);
  }

  private static Optional<Read> limit(ConfigNode node) {
    int errorsBefore = node.tree().errorCount();
    Optional<Mapping> found = node.mapping(LIMIT, KEYS);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = found.get();
    Optional<ConfigNode> requestsNode = m.require("requests", REQUESTS);
    Optional<Long> requests = requestsNode.flatMap(r -> r.longInteger(1, MAX_REQUESTS, REQUESTS));
    Optional<ConfigNode> perNode = m.require("per", PER);
    Optional<Period> per = perNode.flatMap(LimitReader::period);
    Optional<ConfigNode> burstNode = m.get("burst");
    Optional<Long> burst = burstNode.flatMap(b -> b.longInteger(1, MAX_REQUESTS, BURST));
    if (burst.isPresent() && per.isPresent()) {
      Optional<Duration> length = per.get().length();
      if (length.isEmpty() || length.get().compareTo(MAX_BUCKET_PERIOD) > 0) {
        String instead = length.isEmpty()
            ? "leave out burst for a calendar window"
            : "leave out burst to count a window per " + per.get().text() + ", or give the rate per 1h or less";
        burstNode.get().invalid("no burst with per: " + per.get().text()
            + "; a token bucket refills over a fixed period of at most 1h — " + instead);
      }
    }
    if (burst.isPresent() && requests.isPresent() && requests.get() > MAX_BUCKET_REQUESTS) {
      requestsNode.get().invalid("at most " + MAX_BUCKET_REQUESTS + " with burst, so the token bucket's arithmetic"
          + " stays exact; give the rate over a shorter period, or leave out burst for a window");
    }
    if (node.tree().errorCount() > errorsBefore) {
      return Optional.empty();
    }
    OptionalLong burstCount = burst.map(OptionalLong::of).orElse(OptionalLong.empty());
    return Optional.of(new Read(
        new Limit(requests.get(), per.get().text(), per.get().length(), burstCount), node.path(), perNode.get()));
  }

  private static Optional<Period> period(ConfigNode node) {
    if (!node.json().isTextual()) {
      node.invalid(PER);
      return Optional.empty();
    }
    String text = node.json().textValue();
    if (PER_WORDS.containsKey(text)) {
      return Optional.of(new Period(text, PER_WORDS.get(text)));
    }
    Matcher m = PER_TEXT.matcher(text);
    if (!m.matches()) {
      node.invalid(BELOW_A_SECOND.matcher(text).matches() ? AT_LEAST_A_SECOND : PER);
      return Optional.empty();
    }
    long amount = Long.parseLong(m.group(1));
    Duration length = switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
    return Optional.of(new Period(text, Optional.of(length)));
  }
}
