package dev.tollgate.node.quota;

import dev.tollgate.cluster.quota.Verdict;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The rate-limit fields of the IETF httpapi draft "RateLimit header fields for HTTP" (draft 09 and
 * later): {@code RateLimit-Policy} lists each limit's quota {@code q} and window {@code w} in
 * seconds, and {@code RateLimit} each limit's remaining units {@code r} and seconds to reset {@code
 * t}, both as Structured Field lists keyed by policy name. Optionally also the older {@code
 * X-RateLimit-Limit}, {@code -Remaining} and {@code -Reset}, for the limit closest to refusing.
 */
public final class RateLimitHeaders {

  private RateLimitHeaders() {}

  public static List<HttpHeader> of(Verdict verdict, boolean legacy) {
    List<Verdict.LimitStatus> limits = verdict.limits();
    List<HttpHeader> headers = new ArrayList<>(legacy ? 5 : 2);
    StringBuilder policy = new StringBuilder(64);
    StringBuilder state = new StringBuilder(64);
    Verdict.LimitStatus tightest = null;
    for (Verdict.LimitStatus l : limits) {
      if (policy.length() > 0) {
        policy.append(", ");
        state.append(", ");
      }
      policy.append('"').append(l.name()).append("\";q=").append(l.requests()).append(";w=").append(l.windowSeconds());
      state.append('"').append(l.name()).append("\";r=").append(l.remaining()).append(";t=").append(l.resetSeconds());
      if (tightest == null || l.remaining() < tightest.remaining()) {
        tightest = l;
      }
    }
    if (verdict.limitedBy() != null) {
      tightest = verdict.limitedBy();
    }
    headers.add(RawHeader.create("RateLimit-Policy", policy.toString()));
    headers.add(RawHeader.create("RateLimit", state.toString()));
    if (legacy && tightest != null) {
      headers.add(RawHeader.create("X-RateLimit-Limit", Long.toString(tightest.requests())));
      headers.add(RawHeader.create("X-RateLimit-Remaining", Long.toString(tightest.remaining())));
      headers.add(RawHeader.create("X-RateLimit-Reset", Long.toString(tightest.resetSeconds())));
    }
    return headers;
  }
}
