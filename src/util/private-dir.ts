/**
 * A directory that only the effective user can use, and the files trackfs keeps in it (the runtime
 * directory: control sockets, registrations, logs; a state directory).
 *
 * Such a directory is often at a predictable path (/tmp/trackfs-UID), so another user may have
 * made it first, or put a symlink there, to have a daemon (perhaps root's) write a file of
 * theirs, or answer for it on a socket. So:
 *  - the directory is made 0700 when missing; when present it must be a real directory (not a
 *    symlink), owned by the effective user, with no group or other permission bits, and every
 *    directory above it must be one that only its owner (root or the user) can change, or a
 *    sticky one such as /tmp. Otherwise nothing is used and the error says what to do;
 *  - a file in it is opened without following a symlink, created exclusively when new; a stale
 *    one (left by a daemon that died) is removed only when it is ours: owned by the user and of
 *    the expected type.
 *
 * Synchronous (startup, and the CLI before it connects), but for the two asynchronous twins the
 * daemon uses while it serves.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, realpathSync, unlinkSync, writeSync, constants as fsConstants, type Stats } from 'node:fs';
import { lstat as lstatAsync, mkdir as mkdirAsync, realpath as realpathAsync } from 'node:fs/promises';
import { dirname, isAbsolute, parse, resolve } from 'node:path';
import { ErrnoError } from './errno.js';

/** S_ISVTX: in a sticky directory only a file's owner can remove or rename it. */
const STICKY = 0o1000;

export function effectiveUid(): number {
  return process.geteuid?.() ?? process.getuid?.() ?? 0;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function describe(st: Stats): string {
  return `owner uid ${st.uid}, mode ${octal(st.mode)}`;
}

/**
 * Checks that no other user can replace `dir` or anything above it: every ancestor is owned by
 * root or by us, and is not writable by group or others unless it is sticky (/tmp).
 */
/** Refuses `ancestor` of `realDir` when another user could replace what lies below it. */
function checkAncestor(realDir: string, ancestor: string, st: Stats, uid: number): void {
  const ownerOk = st.uid === 0 || st.uid === uid;
  const writableByOthers = (st.mode & 0o022) !== 0 && (st.mode & STICKY) === 0;
  if (ownerOk && !writableByOthers) return;
  const why = ownerOk ? 'writable by others and not sticky' : 'owned by another user';
  throw new ErrnoError('EACCES', `${realDir} cannot be made private: another user can replace it, because ${ancestor} (${describe(st)}) is ${why}; use another directory`);
}

function checkAncestors(realDir: string, uid: number): void {
  let p = dirname(realDir);
  const root = parse(realDir).root;
  for (;;) {
    checkAncestor(realDir, p, lstatSync(p), uid);
    if (p === root) return;
    p = dirname(p);
  }
}

/** Why `st` (of `dir`) is not a private directory of `uid`, or null when it is. */
function notPrivate(dir: string, st: Stats, uid: number): string | null {
  if (st.isSymbolicLink()) return `${dir} is a symbolic link, not a directory; remove it (it may have been planted by another user)`;
  if (!st.isDirectory()) return `${dir} is not a directory (${describe(st)}); remove it`;
  if (st.uid !== uid) return `${dir} is not yours (${describe(st)}; you are uid ${uid}): another user may have made it; remove it, or use another directory`;
  if ((st.mode & 0o077) !== 0) return `${dir} is open to other users (${describe(st)}): make it private with 'chmod 700 ${dir}', or remove it`;
  return null;
}

/**
 * Makes sure `dir` is a private directory of the effective user, creating it (and missing parents)
 * 0700. Returns `dir`. Throws an ErrnoError with a one-line message naming the directory, its owner
 * and mode, and what to do.
 */
export function ensurePrivateDir(dir: string): string {
  const uid = effectiveUid();
  const abs = resolve(dir);
  let st: Stats | null = null;
  try {
    st = lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ErrnoError('EACCES', `${abs} cannot be checked (${(e as NodeJS.ErrnoException).code})`);
  }
  if (st === null) {
    try {
      mkdirSync(abs, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new ErrnoError('EACCES', `${abs} cannot be created (${(e as NodeJS.ErrnoException).code})`);
    }
    st = lstatSync(abs);
  }
  const why = notPrivate(abs, st, uid);
  if (why) throw new ErrnoError('EACCES', why);
  checkAncestors(realpathSync(abs), uid);
  return dir;
}

/**
 * The same check without creating anything: 'missing' when `dir` does not exist (so nothing can
 * be in it), 'ok' when it is private; throws as ensurePrivateDir does otherwise.
 */
export function checkPrivateDir(dir: string): 'ok' | 'missing' {
  const abs = resolve(dir);
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new ErrnoError('EACCES', `${abs} cannot be checked (${(e as NodeJS.ErrnoException).code})`);
  }
  const why = notPrivate(abs, st, effectiveUid());
  if (why) throw new ErrnoError('EACCES', why);
  checkAncestors(realpathSync(abs), effectiveUid());
  return 'ok';
}

/* Asynchronous twins of the two above, for what runs while the daemon serves (a durability record
 * is written when the journal's disk fails): a state directory on a hung file system then holds up
 * only the task that needs it, not the event loop. */

async function checkAncestorsAsync(realDir: string, uid: number): Promise<void> {
  let p = dirname(realDir);
  const root = parse(realDir).root;
  for (;;) {
    checkAncestor(realDir, p, await lstatAsync(p), uid);
    if (p === root) return;
    p = dirname(p);
  }
}

/** ensurePrivateDir without blocking the event loop. */
export async function preparePrivateDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  try {
    await mkdirAsync(abs, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ErrnoError('EACCES', `${abs} cannot be created (${(e as NodeJS.ErrnoException).code})`);
  }
  const why = notPrivate(abs, await lstatAsync(abs), effectiveUid());
  if (why) throw new ErrnoError('EACCES', why);
  await checkAncestorsAsync(await realpathAsync(abs), effectiveUid());
  return dir;
}

/** checkPrivateDir without blocking the event loop: false when missing, true when private. */
export async function privateDirExists(dir: string): Promise<boolean> {
  const abs = resolve(dir);
  let st: Stats;
  try {
    st = await lstatAsync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ErrnoError('EACCES', `${abs} cannot be checked (${(e as NodeJS.ErrnoException).code})`);
  }
  const why = notPrivate(abs, st, effectiveUid());
  if (why) throw new ErrnoError('EACCES', why);
  await checkAncestorsAsync(await realpathAsync(abs), effectiveUid());
  return true;
}

export type EntryKind = 'file' | 'socket';

function isKind(st: Stats, kind: EntryKind): boolean {
  return kind === 'file' ? st.isFile() : st.isSocket();
}

/**
 * Removes what is at `path` (in a private directory) before trackfs creates it anew: only a file
 * of ours of the expected kind; anything else is refused. Nothing there is fine.
 */
export function removeStale(path: string, kind: EntryKind): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ErrnoError('EACCES', `cannot check ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
  if (st.uid !== effectiveUid() || !isKind(st, kind)) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : isKind(st, kind) ? `a ${kind}` : `not a ${kind}`;
    throw new ErrnoError('EEXIST', `${path} is in the way (${what}, ${describe(st)}) and is not a stale ${kind} of yours; remove it`);
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ErrnoError('EACCES', `cannot remove stale ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
}

const CREATE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

/** Creates `path` anew, 0600 whatever the umask, after removing a stale file of ours; returns the descriptor. */
export function createPrivateFile(path: string): number {
  if (!isAbsolute(path)) throw new ErrnoError('EINVAL', `internal: ${path} is not absolute`);
  removeStale(path, 'file');
  try {
    return openSync(path, CREATE_FLAGS, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ErrnoError(code === 'ENOSPC' ? 'ENOSPC' : 'EIO', `cannot create ${path}: ${code === 'ENOSPC' ? 'no space left on its file system' : code}`);
  }
}

/** Writes `text` to a new file `path` (see createPrivateFile). */
export function writePrivateFile(path: string, text: string): void {
  const fd = createPrivateFile(path);
  try {
    const buf = Buffer.from(text);
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ErrnoError(code === 'ENOSPC' ? 'ENOSPC' : 'EIO', `cannot write ${path}: ${code === 'ENOSPC' ? 'no space left on its file system' : code}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens `path` with `flags` (O_WRONLY or O_RDWR, O_APPEND...), a file kept across runs (a log, a
 * lock file): an existing file only when it is ours, a regular file with one link; otherwise it is
 * created exclusively, 0600.
 */
export function openOwnFile(path: string, flags: number): number {
  const open = flags | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;
  let fd: number;
  try {
    fd = openSync(path, open);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      try {
        return openSync(path, open | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      } catch (e2) {
        // Made by someone else in between (only we can write the directory: ourselves, racing).
        if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return openOwnFile(path, flags);
        throw new ErrnoError('EIO', `cannot create ${path}: ${(e2 as NodeJS.ErrnoException).code}`);
      }
    }
    if (code === 'ELOOP' || code === 'EMLINK') throw new ErrnoError('EEXIST', `${path} is a symbolic link (it may have been planted by another user); remove it`);
    throw new ErrnoError('EACCES', `cannot open ${path}: ${code}`);
  }
  const st = fstatSync(fd);
  if (!st.isFile() || st.uid !== effectiveUid() || st.nlink !== 1) {
    closeSync(fd);
    throw new ErrnoError('EEXIST', `${path} is in the way (${st.isFile() ? `${st.nlink} links` : 'not a regular file'}, ${describe(st)}) and is not a file of yours; remove it`);
  }
  return fd;
}

/** Opens `path` for appending (a log kept across runs); see openOwnFile. */
export function openPrivateAppend(path: string): number {
  return openOwnFile(path, fsConstants.O_WRONLY | fsConstants.O_APPEND);
}

/**
 * Checks that `path` (in a private directory) is a socket owned by the effective user or by root,
 * before anything is sent to it or believed from it. 'missing' when there is none.
 */
export function checkOwnSocket(path: string): 'ok' | 'missing' {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new ErrnoError('EACCES', `cannot check control socket ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
  if (!st.isSocket()) throw new ErrnoError('EACCES', `control socket ${path} is not a socket (${st.isSymbolicLink() ? 'a symbolic link, ' : ''}${describe(st)}); remove it`);
  if (st.uid !== effectiveUid() && st.uid !== 0) throw new ErrnoError('EACCES', `control socket ${path} belongs to another user (${describe(st)}; you are uid ${effectiveUid()}): not asking it; remove it`);
  return 'ok';
}
