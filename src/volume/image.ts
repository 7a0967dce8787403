/**
 * The backing image: a regular file or a block device, opened once and used by descriptor with
 * asynchronous positioned I/O. Callback style on the hot path: one closure per request, no
 * promise chain.
 */
import { close, fdatasync, fstat, open, read, write, constants as fsConstants, type BigIntStats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ErrnoError } from '../util/errno.js';
import { lockDescriptor, retireDescriptor, unlockDescriptor } from '../util/file-lock.js';
import { fsError, unreachable } from '../util/fs-errors.js';

export interface ImageFacts {
  path: string;
  size: number;
  isBlockDevice: boolean;
  mtimeNs: bigint;
  /**
   * Which file this is, for resume: inode and birth time, not st_dev, which changes when the
   * same medium comes back on another loop or USB device. A block device is its device number.
   */
  identity: string;
  /** st_dev of the file: the volume that holds it (a block device image is its own volume). */
  hostDevice: string;
  /** Who may use it: its permission bits (no set-id or sticky bits), owner and group. */
  access: { permissions: number; uid: number; gid: number };
}

/** "major:minor" of a dev_t, as /proc/self/mountinfo and /sys/dev/block write it. */
export function majorMinor(dev: number | bigint): string {
  // glibc's encoding of dev_t (gnu_dev_major / gnu_dev_minor).
  const r = BigInt(dev);
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

async function blockDeviceSize(rdev: number, path: string): Promise<number> {
  try {
    const sectors = Number((await readFile(`/sys/dev/block/${majorMinor(rdev)}/size`, 'utf8')).trim());
    return sectors * 512;
  } catch {
    throw new ErrnoError('ENOSYS', `cannot find the size of block device ${path} (needs Linux /sys)`);
  }
}

/** ImageFacts.identity of a stat: inode and birth time of a file, the device number of a block device. */
function identityOf(st: BigIntStats): string {
  return st.isBlockDevice() ? `rdev:${st.rdev}` : st.isFile() ? `ino ${st.ino} born ${st.birthtimeNs}` : `other:${st.ino}`;
}

function accessOf(st: BigIntStats): ImageFacts['access'] {
  return { permissions: Number(st.mode & 0o777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/** Checks what IMAGE is, without opening it for I/O. Throws ErrnoError with a one-line message. */
export async function inspectImage(path: string): Promise<ImageFacts> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new ErrnoError('EACCES', `image ${path} is not accessible (permission denied)`);
    throw unreachable('image', path, e);
  }
  if (st.isFile()) {
    if (st.size === 0n) throw new ErrnoError('EINVAL', `image ${path} is empty`);
    return {
      path,
      size: Number(st.size),
      isBlockDevice: false,
      mtimeNs: st.mtimeNs,
      identity: identityOf(st),
      hostDevice: majorMinor(st.dev),
      access: accessOf(st),
    };
  }
  if (st.isBlockDevice()) {
    const size = await blockDeviceSize(Number(st.rdev), path);
    if (size === 0) throw new ErrnoError('EINVAL', `block device ${path} has size 0 (no medium?)`);
    return {
      path,
      size,
      isBlockDevice: true,
      mtimeNs: 0n,
      identity: identityOf(st),
      hostDevice: majorMinor(st.rdev),
      access: accessOf(st),
    };
  }
  throw new ErrnoError('EINVAL', `image ${path} is not a regular file or a block device`);
}

const fstatAsync = promisify(fstat);
const fdatasyncAsync = promisify(fdatasync);
const closeAsync = promisify(close);
const openAsync = promisify(open);

export type IoCallback = (err: NodeJS.ErrnoException | null, bytes: number) => void;

export class ImageFile {
  private closed = false;

  /**
   * @param lockProblem why the image could not be locked (no way to lock here), or null: the
   *   caller says so once.
   */
  private constructor(readonly fd: number, readonly facts: ImageFacts, readonly lockProblem: string | null) {}

  /**
   * Opens the image and locks it for as long as it is open: exclusively for a read-write mount, so
   * that no second mount (with another journal, which would miss this one's writes) can open it;
   * shared for a read-only one. The lock goes with the descriptor (and is given up explicitly
   * at a release, see releaseLock): a resume after an eject takes it again, and fails if another
   * mount took the image meanwhile.
   */
  static async open(facts: ImageFacts, readOnly: boolean): Promise<ImageFile> {
    const fd = await ImageFile.openDescriptor(facts, readOnly);
    let lock;
    try {
      // The path was inspected before: it must still be that file (not swapped for a FIFO, a device).
      if (identityOf(await fstatAsync(fd, { bigint: true })) !== facts.identity) {
        throw new ErrnoError('EBUSY', `image ${facts.path} was replaced while it was being opened; try again`);
      }
      lock = await lockDescriptor(fd, !readOnly);
    } catch (e) {
      await closeAsync(fd).catch(() => {});
      throw e;
    }
    if (lock === 'busy') {
      await closeAsync(fd).catch(() => {});
      throw new ErrnoError('EBUSY', `image ${facts.path} is in use by another trackfs mount (it is locked${readOnly ? ' for writing' : ''}); unmount that one first`);
    }
    return new ImageFile(fd, facts, lock === 'locked' ? null : `image lock unavailable (${lock.unsupported}): a second mount of ${facts.path} cannot be detected`);
  }

  private static async openDescriptor(facts: ImageFacts, readOnly: boolean): Promise<number> {
    const flags = readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR;
    try {
      return await openAsync(facts.path, flags);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
        throw new ErrnoError('EACCES', `cannot open image ${facts.path} for ${readOnly ? 'reading' : 'writing'} (${code}); use --read-only?`);
      }
      if (code === 'EBUSY') throw new ErrnoError('EBUSY', `image ${facts.path} is busy (${code})`);
      throw fsError('cannot open image', facts.path, e);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Reads exactly `length` bytes unless the file ends first; reports what it got. */
  read(buf: Buffer, length: number, position: number, cb: IoCallback): void {
    let done = 0;
    const step = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return cb(err, done);
      done += n;
      if (n === 0 || done >= length) return cb(null, done);
      read(this.fd, buf, done, length - done, position + done, step);
    };
    read(this.fd, buf, 0, length, position, step);
  }

  /** Writes all `length` bytes or fails. */
  write(buf: Buffer, length: number, position: number, cb: IoCallback): void {
    let done = 0;
    const step = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return cb(err, done);
      done += n;
      if (done >= length) return cb(null, done);
      if (n === 0) return cb(Object.assign(new Error('short write'), { code: 'EIO' }), done);
      write(this.fd, buf, done, length - done, position + done, step);
    };
    write(this.fd, buf, 0, length, position, step);
  }

  datasync(): Promise<void> {
    return fdatasyncAsync(this.fd);
  }

  async mtimeNs(): Promise<bigint> {
    if (this.facts.isBlockDevice) return 0n;
    return (await fstatAsync(this.fd, { bigint: true })).mtimeNs;
  }

  /**
   * Gives up the image's lock before close(), when no one may still write through a duplicate of
   * the descriptor (the native path has let go: see unlockDescriptor). Not otherwise: a native call
   * stuck on the image keeps the image locked until it returns.
   */
  releaseLock(): void {
    if (!this.closed) unlockDescriptor(this.fd);
  }

  /**
   * For a daemon about to fork (fusermount at unmount) while a call stuck on the device holds this
   * image: the descriptor number is kept but names an inert file from now on, so the child does not
   * inherit a file whose close at exec would never return. The image lock goes with the stuck
   * call's reference. close() then closes the inert file. False when it could not be done.
   */
  retire(): boolean {
    return !this.closed && retireDescriptor(this.fd);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeAsync(this.fd);
  }
}
