/**
 * The journal's only door to the disk: positioned reads and writes, fdatasync and close on one
 * file, all asynchronous. Keeping it this narrow lets tests (and the daemon's test hook) put a
 * fault in exactly the call they mean to break.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { lockDescriptor, type LockResult } from '../util/file-lock.js';
import { openExisting } from '../util/file-type.js';

export interface JournalIo {
  read(buf: Buffer, position: number): Promise<number>;
  write(buf: Buffer, position: number): Promise<void>;
  datasync(): Promise<void>;
  size(): Promise<number>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
  /** A flock lock on the file, held until close (files only; see util/file-lock.ts). */
  lock?(exclusive: boolean): Promise<LockResult>;
}

export type IoOp = 'read' | 'write' | 'datasync' | 'truncate';

export class FileJournalIo implements JournalIo {
  private constructor(private readonly handle: FileHandle) {}

  /**
   * Opens an existing journal (only a regular file: a FIFO would block the open, or the first read,
   * forever), or creates a new one exclusively with `mode`.
   */
  static async open(path: string, opts: { create: boolean; readOnly?: boolean; mode?: number }): Promise<FileJournalIo> {
    if (opts.create) return new FileJournalIo(await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, opts.mode ?? 0o644));
    return new FileJournalIo(await openExisting('journal', path, opts.readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR, ['file']));
  }

  async read(buf: Buffer, position: number): Promise<number> {
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.handle.read(buf, done, buf.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async write(buf: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.handle.write(buf, done, buf.length - done, position + done);
      done += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  truncate(size: number): Promise<void> {
    return this.handle.truncate(size);
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  lock(exclusive: boolean): Promise<LockResult> {
    return lockDescriptor(this.handle.fd, exclusive);
  }
}

function errnoError(code: string, op: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${op}`);
  e.code = code;
  e.syscall = op;
  return e;
}

/**
 * Wraps a JournalIo and fails chosen operations with a chosen errno until cleared. Used by unit
 * tests and, behind TRACKFS_TEST_HOOKS=1 only, by the end-to-end fault test.
 */
export class FaultInjectingIo implements JournalIo {
  private faults = new Map<IoOp, string>();

  constructor(private readonly inner: JournalIo) {}

  inject(op: IoOp, code: string): void {
    this.faults.set(op, code);
  }

  clear(): void {
    this.faults.clear();
  }

  private check(op: IoOp): void {
    const code = this.faults.get(op);
    if (code) throw errnoError(code, op);
  }

  async read(buf: Buffer, position: number): Promise<number> {
    this.check('read');
    return this.inner.read(buf, position);
  }

  async write(buf: Buffer, position: number): Promise<void> {
    this.check('write');
    return this.inner.write(buf, position);
  }

  async datasync(): Promise<void> {
    this.check('datasync');
    return this.inner.datasync();
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  async truncate(size: number): Promise<void> {
    this.check('truncate');
    return this.inner.truncate(size);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  lock(exclusive: boolean): Promise<LockResult> {
    return this.inner.lock ? this.inner.lock(exclusive) : Promise.resolve({ unsupported: 'not a file' });
  }
}
