/**
 * xorshift32: a tiny seeded PRNG, so generated captures are byte-identical on
 * every run and a fuzz failure is reproducible from its seed and iteration.
 * Returns numbers in [0, 1). Not for anything that needs real randomness.
 */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}
