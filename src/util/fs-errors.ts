/**
 * A failed file system call as one line a user can act on: what was being done, to which file,
 * and the problem in words ("no space left on its file system"), never Node.js's raw
 * "ENOSPC: no space left on device, write". The errno name stays on the error for errno mapping.
 */
import { ErrnoError, isErrnoName, type ErrnoName } from './errno.js';

const WORDS: Record<string, string> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of its path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on its file system',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'something is already there',
  EISDIR: 'it is a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'I/O error',
  ENOTCONN: 'transport endpoint is not connected (a FUSE daemon is gone)',
  EBUSY: 'busy',
  EMFILE: 'too many open files',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  EFBIG: 'file too large',
  EADDRINUSE: 'already in use',
};

/** The errno name of a Node.js system error, or undefined. */
export function codeOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An errno name in words ("no space left on its file system"), or the name itself. */
export function inWords(code: string | undefined): string {
  return code ? WORDS[code] ?? code : 'unknown error';
}


/**
 * `${doing} ${path}: ${problem}` as an ErrnoError (e.g. "cannot create journal /x: no space left
 * on its file system"). An ErrnoError (already one line of ours) passes through unchanged.
 */
export function fsError(doing: string, path: string, e: unknown): ErrnoError {
  if (e instanceof ErrnoError) return e;
  const code = codeOf(e);
  return new ErrnoError(errnoNameFor(code), `${doing} ${path}: ${code ? inWords(code) : (e as Error)?.message ?? String(e)}`);
}

/** The errno an error is reported with: its own where it has one (a full quota counts as full). */
function errnoNameFor(code: string | undefined): ErrnoName {
  if (code === 'EDQUOT') return 'ENOSPC';
  return isErrnoName(code) ? code : 'EIO';
}

/**
 * A path that could not be looked at (stat, realpath): "WHAT PATH does not exist" only when it does
 * not; otherwise why it cannot be reached ("permission denied").
 */
export function unreachable(what: string, path: string, e: unknown): ErrnoError {
  const code = codeOf(e);
  const named = what ? `${what} ${path}` : path;
  if (code === 'ENOENT') return new ErrnoError('ENOENT', `${named} does not exist`);
  if (e instanceof ErrnoError) return e;
  return new ErrnoError(errnoNameFor(code), `${named} cannot be reached: ${code ? inWords(code) : (e as Error)?.message ?? String(e)}`);
}
