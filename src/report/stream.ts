/**
 * Change lists as consumers read them, transformed on the way without ever being held whole: a
 * coarser unit than the cluster (`--granularity`), and the output sink every format writes to.
 */
import type { Extent } from '../journal/changes.js';

/** Extents in batches, from a daemon (async) or a journal file (sync) alike. */
export type ExtentBatches = AsyncIterable<Extent[]> | Iterable<Extent[]>;

/** Where a format writes its text; resolves once the text may be written again (back-pressure). */
export type Sink = (text: string) => Promise<void>;

/**
 * The same ranges at a coarser unit: each extent widened to whole units of `unit` bytes (aligned
 * to multiples of it from offset 0, the last one stopping at the end of the image), and ranges
 * that then touch or overlap merged. Sorted input stays sorted; batches keep their bounded size.
 */
export async function* coarsen(batches: ExtentBatches, unit: number, imageSize: number): AsyncGenerator<Extent[]> {
  let pending: { start: number; end: number } | null = null;
  let out: Extent[] = [];
  for await (const batch of batches) {
    for (const e of batch) {
      const start = Math.floor(e.offset / unit) * unit;
      const end = Math.min(imageSize, Math.ceil((e.offset + e.length) / unit) * unit);
      if (pending && start <= pending.end) {
        pending.end = Math.max(pending.end, end);
        continue;
      }
      if (pending) out.push({ offset: pending.start, length: pending.end - pending.start });
      pending = { start, end };
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  if (pending) yield [{ offset: pending.start, length: pending.end - pending.start }];
}

/** Counts what passes through: extents and bytes, known once the stream has been read. */
export class Tally {
  extents = 0;
  bytes = 0;

  async *through(batches: ExtentBatches): AsyncGenerator<Extent[]> {
    for await (const batch of batches) {
      for (const e of batch) {
        this.extents++;
        this.bytes += e.length;
      }
      yield batch;
    }
  }
}
