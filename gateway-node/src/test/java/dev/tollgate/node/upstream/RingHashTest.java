package dev.tollgate.node.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RingHashTest {

  @Test
  void isStableAndDependsOnEveryCharacter() {
    assertThat(RingHash.hash("10.0.0.1:8080#0")).isEqualTo(RingHash.hash(new StringBuilder("10.0.0.1:8080#0")));
    assertThat(RingHash.hash("")).isNotEqualTo(RingHash.hash("\0"));
    assertThat(RingHash.hash("abcd")).isNotEqualTo(RingHash.hash("abce"));
    assertThat(RingHash.hash("abcde")).isNotEqualTo(RingHash.hash("abcdf"));
  }

  @Test
  void similarKeysGiveDistinctWellMixedHashes() {
    int keys = 20_000;
    Set<Long> seen = new HashSet<>();
    int[] ones = new int[64];
    for (int k = 0; k < keys; k++) {
      long h = RingHash.hash("user-" + k);
      seen.add(h);
      for (int bit = 0; bit < 64; bit++) {
        ones[bit] += (int) ((h >>> bit) & 1);
      }
    }

    assertThat(seen).hasSize(keys);
    for (int bit = 0; bit < 64; bit++) {
      assertThat(ones[bit] / (double) keys).as("bit %d", bit).isCloseTo(0.5, within(0.03));
    }
  }

  @Test
  void flippingOneInputBitFlipsAboutHalfTheOutputBits() {
    long flipped = 0;
    int trials = 0;
    for (int k = 0; k < 2_000; k++) {
      char[] key = ("key-" + k).toCharArray();
      long h = RingHash.hash(new String(key));
      key[k % key.length] ^= (char) (1 << (k % 7));
      flipped += Long.bitCount(h ^ RingHash.hash(new String(key)));
      trials++;
    }
    assertThat(flipped / (double) trials).isCloseTo(32.0, within(1.5));
  }
}
