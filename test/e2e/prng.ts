/**
 * Seeded pseudo-random numbers for the end-to-end tests (mulberry32): the test process and its
 * child writers derive the same offsets and the same bytes from the same seed.
 */

/** A generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` bytes determined by `seed`. */
export function seededBytes(seed: number, length: number): Buffer {
  const rng = mulberry32(seed);
  const buf = Buffer.allocUnsafe(length);
  let i = 0;
  for (; i + 4 <= length; i += 4) buf.writeUInt32LE(Math.floor(rng() * 4294967296), i);
  for (; i < length; i++) buf[i] = Math.floor(rng() * 256);
  return buf;
}

/** The cluster-aligned offsets the `loop` writer (child-writer.ts) visits, in order. */
export function loopOffsets(seed: number, count: number, clusterSize: number, clusterCount: number): number[] {
  const rng = mulberry32(seed);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.floor(rng() * clusterCount) * clusterSize);
  return out;
}

export interface WriteSpec {
  offset: number;
  length: number;
  /** Seed of the data (seededBytes). */
  seed: number;
}
