/**
 * Maps byte ranges of the volume to clusters and asks the journal to record them before a write
 * may proceed. Knows nothing of files or FUSE; the journal knows nothing of bytes.
 */
import type { Journal } from '../journal/journal.js';

export interface WriteTracker {
  /** null: the write may go now. A promise: wait; a rejection means the write must fail (EIO). */
  beforeWrite(offset: number, length: number): Promise<void> | null;
  /** Makes everything tracked so far durable. */
  sync(): Promise<void>;
}

/**
 * A sequential stream must have written this much contiguously before trackfs marks ahead of it:
 * the writes of a small file, or of the tests' exact-listing cases, are never over-reported.
 */
export const MARK_AHEAD_AFTER = 4 * 1024 * 1024;
/** How many concurrent sequential streams are followed (a kernel writeback, a few dd's). */
const STREAMS = 4;

/**
 * Follows sequential write streams: given a write, returns how many bytes the stream it continues
 * had written before it (0: it starts a new one). The native data path keeps its own in native
 * memory, shared with the writes it serves (src/native/fastpath.ts `follow`, same algorithm).
 */
export type StreamFollower = (offset: number, length: number) => number;

/** The follower in JavaScript memory: the STREAMS most recently started streams. */
export function localStreamFollower(): StreamFollower {
  /** Byte offset where each followed stream's last write ended (-1: slot unused). */
  const streamEnd = new Float64Array(STREAMS).fill(-1);
  /** Bytes each followed stream has written contiguously so far. */
  const streamRun = new Float64Array(STREAMS);
  let nextSlot = 0;
  return (offset, length) => {
    for (let i = 0; i < STREAMS; i++) {
      if (streamEnd[i] !== offset) continue;
      const before = streamRun[i]!;
      streamEnd[i] = offset + length;
      streamRun[i] = before + length;
      return before;
    }
    // Not a continuation: it starts a stream of its own, in place of the least recently started.
    const slot = nextSlot;
    nextSlot = (slot + 1) % STREAMS;
    streamEnd[slot] = offset + length;
    streamRun[slot] = length;
    return 0;
  };
}

export class ChangeTracker implements WriteTracker {
  /**
   * `markAhead` (bytes, 0 = off): once a stream has written MARK_AHEAD_AFTER bytes contiguously,
   * the clusters up to markAhead bytes past its end are marked and committed in the background,
   * before the stream gets there (like asynchronous readahead: a new window is started when the
   * stream is half-way into the last one). In strict mode a first touch otherwise waits for a
   * journal fdatasync with every 128 KiB request of a sequential copy into fresh space. The price:
   * up to markAhead bytes per stream listed as changed that the stream then never wrote (a backup
   * copies them needlessly; nothing is ever missed).
   */
  constructor(
    private readonly journal: Journal,
    private readonly markAhead = 0,
    private readonly follow: StreamFollower = localStreamFollower(),
  ) {}

  beforeWrite(offset: number, length: number): Promise<void> | null {
    const cs = this.journal.clusterSize;
    // Division, not shifts: offsets pass 2^32.
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + length - 1) / cs);
    if (this.markAhead > 0 && this.follow(offset, length) >= MARK_AHEAD_AFTER) this.markAheadOf(offset + length, last);
    return this.journal.record(first, last);
  }

  private markAheadOf(end: number, last: number): void {
    const cs = this.journal.clusterSize;
    const final = this.journal.clusterCount - 1;
    const edge = Math.min(Math.floor((end - 1 + this.markAhead) / cs), final);
    const trigger = Math.min(Math.max(Math.floor((end - 1 + this.markAhead / 2) / cs), last + 1), edge);
    if (trigger <= last || this.journal.isMarked(trigger)) return;
    this.journal.markAhead(last + 1, edge);
  }

  sync(): Promise<void> {
    return this.journal.sync();
  }
}

/**
 * Tracking switched off: only for the benchmark that measures what tracking costs. Never reachable
 * from the documented CLI.
 */
export class UntrackedWrites implements WriteTracker {
  beforeWrite(): null {
    return null;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }
}
