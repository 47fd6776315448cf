package dev.tollgate.config;

import java.util.Collection;
import java.util.Optional;

/** Suggests the known name closest to a misspelt one, for "did you mean ...?" in error messages. */
final class DidYouMean {

  private DidYouMean() {}

  /**
   * The candidate with the smallest edit distance to {@code given}, if it is close enough to be a
   * plausible typo (at most a third of the longer name, and at least one edit allowed), or else a
   * candidate that {@code given} is the start of.
   */
  static Optional<String> closest(String given, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      int d = distance(given.toLowerCase(java.util.Locale.ROOT), candidate.toLowerCase(java.util.Locale.ROOT));
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    if (best == null) {
      return Optional.empty();
    }
    if (given.length() >= 3) {
      // a shortened name, such as grace for grace-period
      Optional<String> extended = candidates.stream().filter(c -> c.startsWith(given)).findFirst();
      if (extended.isPresent() && bestDistance > 1) {
        return extended;
      }
    }
    int allowed = Math.max(1, Math.max(given.length(), best.length()) / 3);
    return bestDistance <= allowed ? Optional.of(best) : Optional.empty();
  }

  /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }
}
