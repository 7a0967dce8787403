/**
 * What a backup tool consumes: sorted, merged byte ranges of what changed.
 *
 * A change list can be enormous (every other cluster of a 16 TiB image is 128 M extents), so it is
 * never built as one array or one string: a ChangeList is a summary (counts, bytes, trust) and the
 * extents in batches, made lazily from a bitmap snapshot. The control channel streams the batches
 * and the CLI prints them as it gets them; memory stays bounded by the bitmap.
 */
import type { PagedBitmap } from './bitmap.js';
import type { Journal } from './journal.js';
import { formatCheckpointId, parseCheckpointId, resolveCheckpoint, type CheckpointRef } from './checkpoint-id.js';
import { ErrnoError } from '../util/errno.js';

export interface Extent {
  offset: number;
  length: number;
}

/** Everything about a change list but its extents. */
export interface ChangesSummary {
  imageSize: number;
  clusterSize: number;
  generation: string;
  trusted: boolean;
  reason?: string;
  /** The checkpoint the changes are counted from (GENERATION:NUMBER; :0 is the generation's start). */
  since: string;
  /**
   * With `--until`: the checkpoint the changes are counted up to. A reply that lacks it (a daemon
   * older than the request) did not answer the question that was asked.
   */
  until?: string;
  /**
   * With `--until`: clusters listed only because they were written again after it, in a page
   * whose history has been folded since (the history keeps a cluster's last checkpoint, so it
   * cannot tell whether they also changed in the range). 0: the list is exact.
   */
  uncertainClusters?: number;
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
  /** Bytes covered by the extents. */
  changedBytes: number;
}

/** A whole change list in memory: what `changes --json` prints, for callers that want it so. */
export interface ChangesReport extends ChangesSummary {
  extents: Extent[];
}

/** A change list: its summary, and its extents in order, a batch at a time. */
export interface ChangeList {
  summary: ChangesSummary;
  batches(): Iterable<Extent[]>;
  /** Changed clusters in [first, first + count), from the bitmap (absent when the list is the whole image). */
  countClusters?: (first: number, count: number) => number;
}

/** A change list as a consumer reads it, live (streamed from a daemon) or offline alike. */
export interface ChangeStream {
  summary: ChangesSummary;
  batches: AsyncIterable<Extent[]> | Iterable<Extent[]>;
  /**
   * Offline only: changed clusters in a range, counted in the bitmap without listing its runs
   * (what `trackfs map` needs of a 16 TiB journal). Absent from a daemon's stream.
   */
  countClusters?: ((first: number, count: number) => number) | undefined;
}

/** Extents per batch: small enough to stream, large enough that a batch costs little. */
export const EXTENTS_PER_BATCH = 4096;

/** Runs of set clusters as byte ranges, in batches; the last range stops at the end of the image. */
export function* extentBatches(
  bitmap: PagedBitmap,
  clusterSize: number,
  imageSize: number,
  perBatch = EXTENTS_PER_BATCH,
): Generator<Extent[]> {
  let batch: Extent[] = [];
  for (const run of bitmap.runs()) {
    const offset = run.start * clusterSize;
    batch.push({ offset, length: Math.min(imageSize, (run.start + run.count) * clusterSize) - offset });
    if (batch.length >= perBatch) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** All extents of a bitmap in one array (small bitmaps, tests). */
export function extentsOf(bitmap: PagedBitmap, clusterSize: number, imageSize: number): Extent[] {
  return [...extentBatches(bitmap, clusterSize, imageSize)].flat();
}

/** Bytes covered by the set clusters: whole clusters, but the image's last one may be short. */
function bytesOf(bitmap: PagedBitmap, count: number, clusterSize: number, imageSize: number): number {
  const last = bitmap.clusterCount - 1;
  if (count === 0) return 0;
  const short = last >= 0 && bitmap.test(last) ? bitmap.clusterCount * clusterSize - imageSize : 0;
  return count * clusterSize - short;
}

export function changeList(params: {
  bitmap: PagedBitmap | null;
  totalClusters: number;
  imageSize: number;
  clusterSize: number;
  generation: string;
  trusted: boolean;
  reason: string;
  since: string;
  until?: string | undefined;
  latestCheckpoint: string;
  baseUnavailable?: string;
}): ChangeList {
  const { bitmap, imageSize, clusterSize, generation, trusted, reason } = params;
  // When the journal cannot say what changed, a consumer that copies what it is told must copy
  // everything.
  const full = !trusted || !!params.baseUnavailable || !bitmap;
  const changedClusters = bitmap ? bitmap.countSet() : params.totalClusters;
  const summary: ChangesSummary = {
    imageSize,
    clusterSize,
    generation,
    trusted,
    since: params.since,
    ...(params.until !== undefined ? { until: params.until } : {}),
    latestCheckpoint: params.latestCheckpoint,
    changedClusters,
    totalClusters: params.totalClusters,
    changedBytes: full || !bitmap ? imageSize : bytesOf(bitmap, changedClusters, clusterSize, imageSize),
  };
  if (!trusted) summary.reason = reason || 'journal is untrusted';
  if (params.baseUnavailable) summary.baseUnavailable = true;
  if (full) summary.fullImage = params.baseUnavailable ?? summary.reason ?? 'no history';
  if (full || !bitmap) return { summary, batches: () => [[{ offset: 0, length: imageSize }]] };
  return {
    summary,
    batches: () => extentBatches(bitmap, clusterSize, imageSize),
    countClusters: (first, count) => bitmap.countRange(first, count),
  };
}

/** The whole list in memory: only for lists known to be small (tests, the golden checks). */
export function collect(list: ChangeList): ChangesReport {
  return { ...list.summary, extents: [...list.batches()].flat() };
}

/**
 * What changed in a journal since checkpoint `since` (an id as users write it; null: since the
 * generation began), and with `until`, up to that checkpoint only. `trusted`/`reason` are the
 * caller's verdict on the journal (offline readers judge it against the image first). An id that
 * does not parse throws, and so does an `until` before `since`; one of another history or not
 * (yet) taken gives the whole image, flagged baseUnavailable.
 */
export async function changesSince(
  journal: Journal,
  since: string | null,
  verdict: { trusted: boolean; reason: string },
  until: string | null = null,
): Promise<ChangeList> {
  const h = journal.headerSnapshot();
  const untilRef = until === null ? null : parseCheckpointId(until);
  const ref = since !== null ? parseCheckpointId(since) : { generation: untilRef?.generation ?? h.generation, number: 0 };
  if (untilRef) checkRange(ref, untilRef);
  const resolved = resolveCheckpoint(ref, h.generation, h.epoch);
  const resolvedUntil = untilRef ? resolveCheckpoint(untilRef, h.generation, h.epoch) : null;
  const common = {
    totalClusters: journal.clusterCount,
    imageSize: h.imageSize,
    clusterSize: h.clusterSize,
    generation: h.generation,
    trusted: verdict.trusted,
    reason: verdict.reason,
    since: since === null && !untilRef ? formatCheckpointId(h.generation, 0) : `${ref.generation}:${ref.number}`,
    until: untilRef ? `${untilRef.generation}:${untilRef.number}` : undefined,
    latestCheckpoint: formatCheckpointId(h.generation, h.epoch - 1),
  };
  if ('unavailable' in resolved) return changeList({ ...common, bitmap: null, baseUnavailable: resolved.unavailable });
  if (resolvedUntil && 'unavailable' in resolvedUntil) {
    return changeList({ ...common, bitmap: null, baseUnavailable: resolvedUntil.unavailable });
  }
  if (!verdict.trusted) return changeList({ ...common, bitmap: null });
  if (!resolvedUntil) return changeList({ ...common, bitmap: await journal.changedSince(resolved.base) });
  const { changed, uncertain } = await journal.changedBetween(resolved.base, resolvedUntil.base);
  const list = changeList({ ...common, bitmap: changed });
  list.summary.uncertainClusters = uncertain;
  return list;
}

/**
 * `--since A --until B` must name two checkpoints of one history, B not before A: a usage error,
 * found from the ids alone (before anything is opened, and again where the journal is read).
 */
export function checkRange(since: CheckpointRef, until: CheckpointRef): void {
  const a = since.generation;
  const b = until.generation;
  if (!a.startsWith(b) && !b.startsWith(a)) {
    throw new ErrnoError('EINVAL', `--since ${a}:${since.number} and --until ${b}:${until.number} are checkpoints of different histories`);
  }
  if (until.number < since.number) {
    throw new ErrnoError('EINVAL', `--until ${b}:${until.number} is before --since ${a}:${since.number}: nothing can change between them`);
  }
}
