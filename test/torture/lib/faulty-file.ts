/**
 * An I/O error at the nth call (SQLite's I/O-error loop): a RecordingFile whose descriptors count
 * every read, write, truncate and fdatasync made on the file, across every descriptor a workload
 * opens, and fail the nth with an errno, once or from then on (a disk that stays failed). A failed
 * fdatasync is noted in the trace (`sync-failed`) so that the power-cut image drops what it would
 * have covered, as Linux does.
 */
import { injectedFault, type JournalIo } from '../../../src/journal/journal-io.js';
import { applyFileEvent, isFileEvent, RecordingFile, type FileEvent, type TraceEvent } from './recording-file.js';

export type FaultCode = 'EIO' | 'ENOSPC' | 'EROFS';

export interface FaultPlan {
  /** The call that fails, counted from 1; 0: none (a run that only counts). */
  n: number;
  code: FaultCode;
  /** Every call from the nth on fails (the disk stays failed), or only the nth. */
  persistent: boolean;
}

export class FaultyFile extends RecordingFile {
  /** Calls counted so far (read, write, truncate, fdatasync). */
  callsMade = 0;
  /** Calls that failed. */
  faultsInjected = 0;
  /** What the nth call was. */
  failedOp: string | null = null;

  constructor(turns: () => number, private readonly plan: FaultPlan) {
    super(turns);
  }

  private fails(op: string): boolean {
    const n = ++this.callsMade;
    const hit = this.plan.n > 0 && (n === this.plan.n || (this.plan.persistent && n > this.plan.n));
    if (hit) {
      this.faultsInjected++;
      if (n === this.plan.n) this.failedOp = op;
    }
    return hit;
  }

  override handle(): JournalIo {
    const inner = super.handle();
    return {
      read: async (buf, position) => {
        if (this.fails('read')) throw injectedFault(this.plan.code, 'read');
        return inner.read(buf, position);
      },
      write: async (buf, position) => {
        if (this.fails('write')) throw injectedFault(this.plan.code, 'write');
        return inner.write(buf, position);
      },
      datasync: async () => {
        if (this.fails('fdatasync')) {
          this.note({ t: 'sync-failed', covers: this.trace.length });
          throw injectedFault(this.plan.code, 'fdatasync');
        }
        return inner.datasync();
      },
      size: () => inner.size(),
      truncate: async (size) => {
        if (this.fails('truncate')) throw injectedFault(this.plan.code, 'ftruncate');
        return inner.truncate(size);
      },
      close: () => inner.close(),
    };
  }
}

type Mutation = Extract<FileEvent, { t: 'write' | 'truncate' }>;

/**
 * What a power cut at the end of `trace` keeps when nothing unsynced reached the disk: every write
 * and truncate a successful fdatasync covered, except those a failed one dropped from write-back
 * before (written again later, they count again).
 */
export function powerCutImage(trace: readonly TraceEvent[]): Buffer {
  let durable: Buffer = Buffer.alloc(0);
  let pending: { index: number; m: Mutation }[] = [];
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if (e.t === 'sync-failed') {
      pending = pending.filter((p) => p.index >= e.covers);
    } else if (!isFileEvent(e)) {
      continue;
    } else if (e.t === 'sync') {
      for (const p of pending) if (p.index < e.covers) durable = applyFileEvent(durable, p.m);
      pending = pending.filter((p) => p.index >= e.covers);
    } else {
      pending.push({ index: i, m: e });
    }
  }
  return durable;
}
