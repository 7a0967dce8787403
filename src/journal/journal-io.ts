/**
 * The journal's only door to the disk: positioned reads and writes, fdatasync and close on one
 * file, all asynchronous. Keeping it this narrow lets tests (and the daemon's test hook) put a
 * fault in exactly the call they mean to break.
 */
import { lstat, open, unlink, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants, type BigIntStats } from 'node:fs';
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
   * forever), or creates a new one exclusively, 0600 whatever the umask (see limitAccess).
   */
  static async open(path: string, opts: { create: boolean; readOnly?: boolean }): Promise<FileJournalIo> {
    if (opts.create) return new FileJournalIo(await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600));
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
      // A write that takes nothing would loop for ever: a full device that does not say so.
      if (bytesWritten === 0) throw Object.assign(new Error(`journal write at ${position + done} wrote nothing`), { code: 'EIO' });
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

  /** The descriptor, for facts Node.js does not give (fs-identity.ts). Valid until close(). */
  get fd(): number {
    return this.handle.fd;
  }

  stat(): Promise<BigIntStats> {
    return this.handle.stat({ bigint: true });
  }

  lock(exclusive: boolean): Promise<LockResult> {
    return lockDescriptor(this.handle.fd, exclusive);
  }

  /** Removes the file this handle has open, if `path` still names it (a journal whose creation failed). */
  async removeIfStillAt(path: string): Promise<void> {
    const [mine, there] = await Promise.all([this.handle.stat(), lstat(path)]);
    if (mine.dev === there.dev && mine.ino === there.ino) await unlink(path);
  }

  /**
   * Lets a new journal be read by whoever may read its image, and no one else: the image's
   * permission bits (no execute bits), without the group's when the journal's group is not the
   * image's. It says which parts of the image changed, so it is as private as the image.
   */
  async limitAccess(image: { permissions: number; gid: number }): Promise<void> {
    const st = await this.handle.stat();
    let mode = image.permissions & 0o666;
    if (st.gid !== image.gid) mode &= ~0o070;
    await this.handle.chmod(mode);
  }
}

/**
 * A journal opened read-only (a --read-only mount): the file is never written. What the journal
 * writes (a header saying it is untrusted, when recovery finds it so) is kept in memory and read
 * back from there, so the mount's view is what it would be on disk; it is gone at unmount, and the
 * next mount, finding the same facts, comes to the same verdict.
 */
export class ReadOnlyOverlayIo implements JournalIo {
  private readonly overlay = new Map<number, Buffer>();
  private virtualSize = 0;

  constructor(private readonly inner: JournalIo) {}

  async read(buf: Buffer, position: number): Promise<number> {
    let got = await this.inner.read(buf, position);
    for (const [at, data] of this.overlay) {
      const from = Math.max(at, position);
      const to = Math.min(at + data.length, position + buf.length);
      if (from >= to) continue;
      data.copy(buf, from - position, from - at, to - at);
      got = Math.max(got, to - position);
    }
    return got;
  }

  async write(buf: Buffer, position: number): Promise<void> {
    // Newest last: reads apply the overlay in order, so a later write wins where writes overlap.
    this.overlay.delete(position);
    this.overlay.set(position, Buffer.from(buf));
  }

  async datasync(): Promise<void> {}

  async size(): Promise<number> {
    let end = Math.max(await this.inner.size(), this.virtualSize);
    for (const [at, data] of this.overlay) end = Math.max(end, at + data.length);
    return end;
  }

  /** Only the size is remembered: a read-only journal's file is never changed. */
  async truncate(size: number): Promise<void> {
    this.virtualSize = size;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  lock(exclusive: boolean): Promise<LockResult> {
    return this.inner.lock ? this.inner.lock(exclusive) : Promise.resolve({ unsupported: 'not a file' });
  }
}

/** The error a fault injected into `op` fails with, shaped as Node's own (code, syscall). */
export function injectedFault(code: string, op: string): NodeJS.ErrnoException {
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
    if (code) throw injectedFault(code, op);
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
