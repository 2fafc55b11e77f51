/**
 * mulberry32: a tiny seeded PRNG, so generated phone numbers and bulk sizes are the same on every
 * run (the sandbox's data, the windows bench's load). Not for anything that must be unpredictable.
 */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
