/**
 * Advisory whole-file locks (flock(2)) on an open descriptor, never waiting. A flock lock belongs
 * to the open file description: it lasts while the descriptor is open, goes with it when it is
 * closed (or the process dies, even by SIGKILL), and no pid can be mistaken for its holder.
 *
 * Taken by trackfs's native addon when it is loaded; otherwise by util-linux `flock -n` run on the
 * inherited descriptor (the child locks the same open file description, so the lock outlives it).
 * Where neither exists (macOS without the addon) the answer is 'unsupported', and the caller says
 * so once.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { native } from '../native/native.js';

export type LockResult = 'locked' | 'busy' | { unsupported: string };

const EWOULDBLOCK = constants.errno.EWOULDBLOCK ?? constants.errno.EAGAIN;
const EAGAIN = constants.errno.EAGAIN;
/** flock(1)'s exit code on a conflict, chosen so it cannot be mistaken for its own errors. */
const FLOCK_CONFLICT = 75;
const FLOCK_TIMEOUT_MS = 5_000;

function lockWithFlockCommand(fd: number, exclusive: boolean): Promise<LockResult> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('flock', [exclusive ? '-x' : '-s', '-n', '-E', String(FLOCK_CONFLICT), '3'], {
        stdio: ['ignore', 'ignore', 'pipe', fd],
        timeout: FLOCK_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      });
    } catch (e) {
      resolve({ unsupported: `flock(1) cannot be run: ${(e as Error).message}` });
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ unsupported: e.code === 'ENOENT' ? 'no native addon and no flock(1) (util-linux)' : `flock(1): ${e.message}` }));
    child.on('close', (code) => {
      if (code === 0) resolve('locked');
      else if (code === FLOCK_CONFLICT) resolve('busy');
      else resolve({ unsupported: `flock(1) failed (${code ?? 'killed'}): ${stderr.trim().split('\n')[0] ?? ''}` });
    });
  });
}

/** Takes a shared or exclusive lock on `fd` if it is free right now. */
export async function lockDescriptor(fd: number, exclusive: boolean): Promise<LockResult> {
  const addon = native();
  if (addon) {
    const r = addon.lockFile(fd, exclusive);
    if (r === 0) return 'locked';
    if (r === -EWOULDBLOCK || r === -EAGAIN) return 'busy';
    return { unsupported: `flock failed with errno ${-r}` };
  }
  if (process.platform !== 'linux') return { unsupported: 'no native addon (flock(2) is not reachable from Node.js without it)' };
  return lockWithFlockCommand(fd, exclusive);
}

/**
 * Releases the lock of `fd` now, for the open file description and every descriptor sharing it:
 * the native data path holds a duplicate of the image's descriptor and closes it on a thread of
 * its own, so closing `fd` alone can leave the lock held for a moment after an eject, and a resume
 * right then would find its own image "in use by another trackfs mount". Without the addon there
 * is no duplicate and closing `fd` releases the lock; nothing to do then.
 */
export function unlockDescriptor(fd: number): void {
  native()?.unlockFile(fd);
}

/**
 * Takes `fd`'s file out of this process's descriptor table without freeing the number (it then
 * names an inert file; closing it later is the caller's): for an image whose device no longer
 * answers, which every later fork would inherit and fail to close at exec. False when it could not
 * be done (no addon, not Linux).
 */
export function retireDescriptor(fd: number): boolean {
  return native()?.retireFd(fd) === 0;
}
