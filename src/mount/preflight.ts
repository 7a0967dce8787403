/** Checks made before anything is mounted: the mountpoint is an empty directory nobody mounted on. */
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrnoError } from '../util/errno.js';
import { readMounts } from '../util/mountinfo.js';
import { fsError, unreachable } from '../util/fs-errors.js';

/** Returns the mountpoint's real path, or throws a one-line ErrnoError. */
export async function checkMountpoint(path: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw unreachable('mountpoint', path, e);
  }
  if (!st.isDirectory()) throw new ErrnoError('ENOTDIR', `mountpoint ${path} is not a directory`);
  const real = await realpath(path);
  const mounts = await readMounts();
  const existing = mounts?.find((m) => m.mountPoint === real);
  if (existing) throw new ErrnoError('EBUSY', `mountpoint ${path} is already mounted (${existing.fsType} ${existing.source})`);
  if (!mounts) {
    const parent = await stat(dirname(real));
    if (parent.dev !== st.dev) throw new ErrnoError('EBUSY', `mountpoint ${path} is already mounted`);
  }
  const entries = await readdir(real).catch((e: unknown) => { throw fsError('mountpoint', `${path} is not readable, so it cannot be checked to be empty`, e); });
  if (entries.length > 0) throw new ErrnoError('ENOTEMPTY', `mountpoint ${path} is not empty`);
  return real;
}
