/** Turns a bitmap into what a backup tool consumes: sorted, merged byte ranges. */
import type { PagedBitmap } from './bitmap.js';
import type { Journal } from './journal.js';
import { formatCheckpointId, parseCheckpointId, resolveCheckpoint } from './checkpoint-id.js';

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
  /** The checkpoint the changes are counted from (GENERATION:NUMBER; :0 is the generation's start). */
  since: string;
  /** The newest checkpoint of the generation. */
  latestCheckpoint: string;
  /**
   * Set when the extents are the whole image because the changes cannot be told: the journal is
   * untrusted, or the requested checkpoint is of another history or does not exist.
   */
  fullImage?: string;
  /** The requested checkpoint could not be used (fullImage says why). */
  baseUnavailable?: boolean;
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
  bitmap: PagedBitmap | null;
  totalClusters: number;
  imageSize: number;
  clusterSize: number;
  generation: string;
  trusted: boolean;
  reason: string;
  since: string;
  latestCheckpoint: string;
  baseUnavailable?: string;
}): ChangesReport {
  const { bitmap, imageSize, clusterSize, generation, trusted, reason } = params;
  // When the journal cannot say what changed, a consumer that copies what it is told must copy
  // everything.
  const full = !trusted || !!params.baseUnavailable || !bitmap;
  const extents = full || !bitmap ? [{ offset: 0, length: imageSize }] : extentsOf(bitmap, clusterSize, imageSize);
  const report: ChangesReport = {
    imageSize,
    clusterSize,
    generation,
    trusted,
    since: params.since,
    latestCheckpoint: params.latestCheckpoint,
    changedClusters: bitmap ? bitmap.countSet() : params.totalClusters,
    totalClusters: params.totalClusters,
    changedBytes: extents.reduce((n, e) => n + e.length, 0),
    extents,
  };
  if (!trusted) report.reason = reason || 'journal is untrusted';
  if (params.baseUnavailable) report.baseUnavailable = true;
  if (full) report.fullImage = params.baseUnavailable ?? report.reason ?? 'no history';
  return report;
}

/**
 * What changed in a journal since checkpoint `since` (an id as users write it; null: since the
 * generation began). `trusted`/`reason` are the caller's verdict on the journal (offline readers
 * judge it against the image first). An id that does not parse throws; one of another history or
 * not (yet) taken gives the whole image, flagged baseUnavailable.
 */
export async function changesSince(journal: Journal, since: string | null, verdict: { trusted: boolean; reason: string }): Promise<ChangesReport> {
  const h = journal.headerSnapshot();
  const ref = since === null ? { generation: h.generation, number: 0 } : parseCheckpointId(since);
  const resolved = resolveCheckpoint(ref, h.generation, h.epoch);
  const common = {
    totalClusters: journal.clusterCount,
    imageSize: h.imageSize,
    clusterSize: h.clusterSize,
    generation: h.generation,
    trusted: verdict.trusted,
    reason: verdict.reason,
    since: since === null ? formatCheckpointId(h.generation, 0) : `${ref.generation}:${ref.number}`,
    latestCheckpoint: formatCheckpointId(h.generation, h.epoch - 1),
  };
  if ('unavailable' in resolved) return changesReport({ ...common, bitmap: null, baseUnavailable: resolved.unavailable });
  if (!verdict.trusted) return changesReport({ ...common, bitmap: null });
  return changesReport({ ...common, bitmap: await journal.changedSince(resolved.base) });
}
