/**
 * Directories only this user controls: trackfs keeps there what another user must not plant,
 * change or remove (a durability record tells recovery what it may trust). A directory is private
 * when it is a real directory (not a symbolic link), owned by the effective user, and has no
 * group or other permission bits. This module checks the directory itself, not its parents.
 *
 * (A minimal version: another engineer's src/util/private-dir.ts has the same ensurePrivateDir
 * signature; the integrator keeps one.)
 */
import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { ErrnoError } from './errno.js';

function verify(dir: string, st: Stats): void {
  if (st.isSymbolicLink()) throw new ErrnoError('EPERM', `${dir} is a symbolic link, not a private directory; remove it (trackfs creates the directory itself)`);
  if (!st.isDirectory()) throw new ErrnoError('ENOTDIR', `${dir} is not a directory`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new ErrnoError('EPERM', `directory ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}), so it cannot be trusted; remove it or choose another directory`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new ErrnoError('EPERM', `directory ${dir} has mode ${(st.mode & 0o777).toString(8)}, so other users could change what is kept there; run: chmod 700 ${dir}`);
  }
}

function createFailed(dir: string, e: unknown): ErrnoError {
  const code = (e as NodeJS.ErrnoException).code;
  return new ErrnoError(code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'EACCES' : 'EIO', `cannot create directory ${dir} (${code ?? (e as Error).message})`);
}

/**
 * Creates `dir` (and missing parents) with mode 0700 if it does not exist, then checks it is
 * private. Returns `dir`; throws an ErrnoError with a one-line message otherwise. Synchronous: for
 * start-up, not for the data path (see preparePrivateDir).
 */
export function ensurePrivateDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw createFailed(dir, e);
  }
  verify(dir, lstatSync(dir));
  return dir;
}

/** ensurePrivateDir without blocking the event loop. */
export async function preparePrivateDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw createFailed(dir, e);
  }
  verify(dir, await lstat(dir));
  return dir;
}

/**
 * For readers: whether `dir` exists (false) and, if it does, that it is private (else throws as
 * ensurePrivateDir does). Creates nothing.
 */
export async function privateDirExists(dir: string): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ErrnoError('EACCES', `cannot look at directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  verify(dir, st);
  return true;
}
