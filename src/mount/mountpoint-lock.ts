/**
 * One daemon per mountpoint. Two `trackfs mount` racing for one mountpoint both find it free; the
 * loser would then take the winner's socket and, cleaning up, unmount the winner. So the daemon
 * locks RUNTIME/<id>.lock (flock, exclusive, never waiting) before it checks or touches anything
 * of the mountpoint's, and holds it until it exits; the pid written in it names the holder in the
 * loser's message. The file is never removed: removing a lock file races with a process that has
 * just opened it, and it is a few bytes in a directory that is emptied at boot.
 */
import { closeSync, fstatSync, ftruncateSync, lstatSync, readSync, writeSync, constants as fsConstants } from 'node:fs';
import { ErrnoError } from '../util/errno.js';
import { lockDescriptor } from '../util/file-lock.js';
import { openOwnFile } from '../util/private-dir.js';

/** Descriptors of locks held for the life of the process (closing one would let go of its lock). */
const held: number[] = [];

function holderPid(fd: number): number {
  const buf = Buffer.alloc(32);
  try {
    const n = readSync(fd, buf, 0, buf.length, 0);
    const pid = Number(buf.subarray(0, n).toString('utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/**
 * Takes the lock of `mountpoint` in `lockPath` (in the private runtime directory). Throws EBUSY
 * with a one-line message when another daemon holds it. Returns why it could not be locked at all
 * (no way to lock here), or null.
 */
export async function lockMountpoint(lockPath: string, mountpoint: string): Promise<string | null> {
  const fd = openOwnFile(lockPath, fsConstants.O_RDWR);
  let r;
  try {
    r = await lockDescriptor(fd, true);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (r === 'busy') {
    const pid = holderPid(fd);
    closeSync(fd);
    throw new ErrnoError('EBUSY', `mountpoint ${mountpoint} is being mounted or served by another trackfs daemon${pid ? ` (pid ${pid})` : ''}`);
  }
  if (r !== 'locked') {
    held.push(fd);
    return `mountpoint lock unavailable (${r.unsupported}): two mounts racing for ${mountpoint} cannot be kept apart`;
  }
  // The file is never removed by trackfs; if it was replaced anyway, this lock guards nothing.
  const st = fstatSync(fd);
  const now = lstatSync(lockPath);
  if (now.ino !== st.ino || now.dev !== st.dev) {
    closeSync(fd);
    throw new ErrnoError('EBUSY', `mountpoint ${mountpoint}: its lock file ${lockPath} was replaced while it was being taken; try again`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  held.push(fd);
  return null;
}
