/**
 * A journal file in memory that records every call trackfs makes on it, in the order the calls
 * complete, interleaved with what the workload says it did (a data write issued to the image, a
 * write acknowledged, a checkpoint done): the dm-log-writes idea, a log of every write with its
 * flush points, from which crash-states.ts replays what a power cut or a process crash can leave.
 *
 * Semantics, as a file in the OS page cache has them:
 *   - a write or truncate is in the file (readable) once it completes: that is when it is logged;
 *   - an fdatasync makes durable every write and truncate that completed before it was *called*
 *     (logged with that bound when it completes); one completing meanwhile is not counted on;
 *   - completions are delayed by a seeded number of event-loop turns, so the writes of one commit
 *     complete in varying orders, as a disk's do.
 * Nothing here fails: faults are io-errors.ts's business (it notes a failed fdatasync here, as
 * `sync-failed`, so that what a power cut keeps can be worked out as Linux has it).
 */
import type { JournalIo } from '../../../src/journal/journal-io.js';

/** What the workload says it did, logged between the file's own events. */
export type Note =
  | { t: 'created'; generation: string }
  /** A data write asked for clusters [first, last] to be recorded. */
  | { t: 'issue'; w: number; first: number; last: number }
  /** The data write went to the image: from here on its clusters may be on the image. */
  | { t: 'image'; w: number; mtimeNs: bigint }
  | { t: 'ack'; w: number }
  | { t: 'checkpoint-start' }
  | { t: 'checkpoint-done'; closed: number; generation: string; rebased: boolean }
  | { t: 'reset-start' }
  | { t: 'generation'; generation: string }
  | { t: 'untrusted-start' }
  | { t: 'activate-start' }
  | { t: 'activate-done' }
  | { t: 'close-start' }
  | { t: 'close-done'; clean: boolean }
  | { t: 'reopen'; generation: string }
  /**
   * An fdatasync failed (io-errors.ts): as on Linux ("fsyncgate"), the writes it would have
   * covered (logged before index `covers`) are dropped from write-back: in the page cache still,
   * lost at a power cut unless written again.
   */
  | { t: 'sync-failed'; covers: number };

export type FileEvent =
  | { t: 'write'; position: number; data: Buffer }
  | { t: 'truncate'; size: number }
  /** An fdatasync completed; it made durable every file event logged before index `covers`. */
  | { t: 'sync'; covers: number };

export type TraceEvent = FileEvent | Note;

export function isFileEvent(e: TraceEvent): e is FileEvent {
  return e.t === 'write' || e.t === 'truncate' || e.t === 'sync';
}

export class RecordingFile {
  private data: Buffer = Buffer.alloc(0);
  readonly trace: TraceEvent[] = [];

  /** `turns()` says how many event-loop turns the next call takes to complete (seeded). */
  constructor(private readonly turns: () => number) {}

  note(n: Note): void {
    this.trace.push(n);
  }

  /** The file as the page cache has it now (every completed write). */
  contents(): Buffer {
    return Buffer.from(this.data);
  }

  /** A new descriptor on the file (a daemon opening it); closing it leaves the file as it is. */
  handle(): JournalIo {
    let closed = false;
    const open = (op: string) => {
      if (closed) throw Object.assign(new Error(`${op} on a closed descriptor`), { code: 'EBADF' });
    };
    return {
      read: async (buf, position) => {
        open('read');
        await this.delay();
        if (position >= this.data.length) return 0;
        return this.data.copy(buf, 0, position, Math.min(this.data.length, position + buf.length));
      },
      write: async (buf, position) => {
        open('write');
        const copy = Buffer.from(buf);
        await this.delay();
        // A daemon killed while the call was under way: it never reached the file.
        open('write');
        this.apply({ t: 'write', position, data: copy });
      },
      datasync: async () => {
        open('datasync');
        const covers = this.trace.length;
        await this.delay();
        open('datasync');
        this.trace.push({ t: 'sync', covers });
      },
      size: async () => this.data.length,
      truncate: async (size) => {
        open('truncate');
        await this.delay();
        open('truncate');
        this.apply({ t: 'truncate', size });
      },
      close: async () => {
        closed = true;
      },
    };
  }

  private apply(e: Extract<FileEvent, { t: 'write' | 'truncate' }>): void {
    this.data = applyFileEvent(this.data, e);
    this.trace.push(e);
  }

  private async delay(): Promise<void> {
    for (let n = this.turns(); n > 0; n--) await new Promise<void>((r) => setImmediate(r));
  }
}

/** `file` with one write or truncate applied (a write past the end grows it with zeros). */
export function applyFileEvent(file: Buffer, e: Extract<FileEvent, { t: 'write' | 'truncate' }>): Buffer {
  if (e.t === 'truncate') {
    const next = Buffer.alloc(e.size);
    file.copy(next, 0, 0, Math.min(file.length, e.size));
    return next;
  }
  const end = e.position + e.data.length;
  let out = file;
  if (end > file.length) {
    out = Buffer.alloc(end);
    file.copy(out);
  }
  e.data.copy(out, e.position);
  return out;
}
