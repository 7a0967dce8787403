/** The statistics of the report: medians, spreads and the rounding of what it publishes. */

/** Median of the finite values; NaN when there are none. */
export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m]! : midpoint(s[m - 1]!, s[m]!)) : NaN;
}

/** The middle of a <= b without leaving [a, b]: (a + b) / 2 overflows to Infinity for two large values of one sign. */
function midpoint(a: number, b: number): number {
  return Math.sign(a) === Math.sign(b) ? a + (b - a) / 2 : (a + b) / 2;
}

/** (max - min) / median: how far the repetitions of one cell disagree; NaN for fewer than two. */
export function spread(xs: number[]): number {
  return xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : NaN;
}

/** `v` to `d` decimals, or null (JSON has no NaN) when it is not a number. */
export function round(v: number, d = 3): number | null {
  return Number.isFinite(v) ? Number(v.toFixed(d)) : null;
}

/** A published number back to one to compute with: null (not measured) becomes NaN. */
export function num(v: number | null | undefined): number {
  return v ?? NaN;
}
