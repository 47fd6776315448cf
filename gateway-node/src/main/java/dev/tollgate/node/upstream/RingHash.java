package dev.tollgate.node.upstream;

/**
 * A 64-bit string hash for the consistent-hash ring, in the manner of MurmurHash3 x64: UTF-16 code
 * units are taken four at a time into a 64-bit block, each block is mixed in, and the murmur3
 * finalizer gives full avalanche. It reads the string in place and allocates nothing. Stable across
 * JVMs and versions: ring positions must not move when a node restarts.
 */
final class RingHash {

  private static final long SEED = 0x9E3779B97F4A7C15L;
  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;

  private RingHash() {}

  static long hash(CharSequence text) {
    int length = text.length();
    long h = SEED;
    int i = 0;
    for (; i + 4 <= length; i += 4) {
      long block =
          text.charAt(i)
              | (long) text.charAt(i + 1) << 16
              | (long) text.charAt(i + 2) << 32
              | (long) text.charAt(i + 3) << 48;
      h ^= mixBlock(block);
      h = Long.rotateLeft(h, 27) * 5 + 0x52dce729;
    }
    long tail = 0;
    for (int shift = 0; i < length; i++, shift += 16) {
      tail |= (long) text.charAt(i) << shift;
    }
    h ^= mixBlock(tail);
    h ^= length;
    return finish(h);
  }

  private static long mixBlock(long block) {
    block *= C1;
    block = Long.rotateLeft(block, 31);
    return block * C2;
  }

  private static long finish(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
