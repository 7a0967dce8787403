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

export class ChangeTracker implements WriteTracker {
  constructor(private readonly journal: Journal) {}

  beforeWrite(offset: number, length: number): Promise<void> | null {
    const cs = this.journal.clusterSize;
    // Division, not shifts: offsets pass 2^32.
    return this.journal.record(Math.floor(offset / cs), Math.floor((offset + length - 1) / cs));
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
