/** Turns a bitmap into what a backup tool consumes: sorted, merged byte ranges. */
import type { PagedBitmap } from './bitmap.js';

export interface Extent {
  offset: number;
  length: number;
}

export interface ChangesReport {
  imageSize: number;
  clusterSize: number;
  generation: string;
  trusted: boolean;
  reason?: string;
  /** Changed clusters counted in the bitmap (even when untrusted). */
  changedClusters: number;
  totalClusters: number;
  /** Bytes covered by `extents`. */
  changedBytes: number;
  extents: Extent[];
}

/** Runs of set clusters as byte ranges; the last range stops at the end of the image. */
export function extentsOf(bitmap: PagedBitmap, clusterSize: number, imageSize: number): Extent[] {
  const out: Extent[] = [];
  for (const run of bitmap.runs()) {
    const offset = run.start * clusterSize;
    const end = Math.min(imageSize, (run.start + run.count) * clusterSize);
    out.push({ offset, length: end - offset });
  }
  return out;
}

export function changesReport(params: {
  bitmap: PagedBitmap;
  imageSize: number;
  clusterSize: number;
  generation: string;
  trusted: boolean;
  reason: string;
}): ChangesReport {
  const { bitmap, imageSize, clusterSize, generation, trusted, reason } = params;
  // An untrusted journal cannot say what changed: a consumer that copies what it is told must copy
  // everything.
  const extents = trusted ? extentsOf(bitmap, clusterSize, imageSize) : [{ offset: 0, length: imageSize }];
  const report: ChangesReport = {
    imageSize,
    clusterSize,
    generation,
    trusted,
    changedClusters: bitmap.countSet(),
    totalClusters: bitmap.clusterCount,
    changedBytes: extents.reduce((n, e) => n + e.length, 0),
    extents,
  };
  if (!trusted) report.reason = reason || 'journal is untrusted';
  return report;
}
