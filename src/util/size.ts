/** Human sizes for the CLI: "64K", "1M", "4096", "1GiB". Binary units throughout. */
const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

export function parseSize(text: string): number | null {
  const m = /^\s*(\d+)\s*([KMGTP]?)(?:I?B)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2]!.toUpperCase()]!;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${bytes} B` : `${v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Short form used in option values: 65536 -> "64K". */
export function formatSizeShort(bytes: number): string {
  for (const [u, n] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes % n === 0) return `${bytes / n}${u}`;
  }
  return String(bytes);
}
