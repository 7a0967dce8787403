/**
 * Opening a path a user gave, as the kind of file it must be. A FIFO where a file is expected
 * blocks an open for reading until some writer comes (forever, and in a libuv thread that no
 * Ctrl-C frees); a device may act on being opened. So the type is checked first (stat), the open
 * cannot block (O_NONBLOCK, no effect on regular files and block devices once open), and the
 * descriptor is checked again (fstat: the same file, still of that type), since the path may have
 * been swapped in between.
 */
import { constants as fsConstants, type BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ErrnoError } from './errno.js';

export type FileKind = 'file' | 'block';

function kindOf(st: BigIntStats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  return 'of an unknown type';
}

function accepted(st: BigIntStats, kinds: readonly FileKind[]): boolean {
  return (kinds.includes('file') && st.isFile()) || (kinds.includes('block') && st.isBlockDevice());
}

function wanted(kinds: readonly FileKind[]): string {
  return kinds.length === 2 ? 'a regular file or a block device' : kinds[0] === 'file' ? 'a regular file' : 'a block device';
}

/**
 * Throws a one-line ErrnoError ("WHAT PATH is not a regular file (a FIFO)") when `path` exists and
 * is not of one of `kinds`. Returns its stat, or null when there is nothing at `path`.
 */
export async function checkKind(what: string, path: string, kinds: readonly FileKind[]): Promise<BigIntStats | null> {
  let st: BigIntStats;
  try {
    st = await stat(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (!accepted(st, kinds)) throw new ErrnoError('EINVAL', `${what} ${path} is not ${wanted(kinds)} (it is ${kindOf(st)})`);
  return st;
}

/**
 * Opens an existing `path` with `flags` only if it is of one of `kinds`, checked before and after
 * the open. Errors of the open itself (ENOENT, EACCES...) propagate as they are.
 */
export async function openExisting(what: string, path: string, flags: number, kinds: readonly FileKind[]): Promise<FileHandle> {
  const before = await checkKind(what, path, kinds);
  const handle = await open(path, flags | fsConstants.O_NONBLOCK);
  try {
    const after = await handle.stat({ bigint: true });
    if (!accepted(after, kinds)) throw new ErrnoError('EINVAL', `${what} ${path} is not ${wanted(kinds)} (it is ${kindOf(after)})`);
    if (before && (before.dev !== after.dev || before.ino !== after.ino)) throw new ErrnoError('EBUSY', `${what} ${path} was replaced while it was being opened; try again`);
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
  return handle;
}
