/**
 * The one place that turns failures into errno. FUSE replies are negative numbers from
 * os.constants.errno (not fuse-native's Linux table), so macOS gets its own values.
 *
 * One rule for an error of unknown origin: its `code` if that names an errno, else EIO. One
 * error type that carries a deliberate errno: ErrnoError (the journal's own error classes extend
 * it). Which errno each situation gets is chosen where the situation is defined (lifecycle.ts for
 * the mount's states, volume.ts for requests, open.ts for journals) and nowhere else.
 */
import { constants } from 'node:os';

const ERRNO = constants.errno as Record<string, number>;

export type ErrnoName =
  | 'EACCES' | 'EAGAIN' | 'EBADF' | 'EBUSY' | 'ECONNABORTED' | 'EEXIST' | 'EINVAL' | 'EIO' | 'EISDIR'
  | 'ELOOP' | 'ENODEV' | 'ENOENT' | 'ENOMEDIUM' | 'ENOSPC' | 'ENOSYS' | 'ENOTCONN' | 'ENOTDIR' | 'ENOTEMPTY'
  | 'ENXIO' | 'EPERM' | 'EPROTO' | 'EROFS' | 'ESHUTDOWN' | 'ESRCH' | 'ESTALE' | 'ETIMEDOUT' | 'EWOULDBLOCK';

/** The positive errno number of `name` on this platform (EIO where the platform has none). */
export function errno(name: ErrnoName): number {
  return ERRNO[name] ?? ERRNO['EIO']!;
}

/** A FUSE reply for failure `name`: the negative errno. */
export function fuseErr(name: ErrnoName): number {
  return -errno(name);
}

/** An error that carries a deliberate errno name; its message is one line for a user. */
export class ErrnoError extends Error {
  constructor(readonly code: ErrnoName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ErrnoError';
  }
}

/** Whether `code` names an errno of this platform. */
export function isErrnoName(code: unknown): code is ErrnoName {
  return typeof code === 'string' && code in ERRNO;
}

/** The errno name an error carries, or EIO when it carries none we recognise. */
export function errnoNameOf(e: unknown): ErrnoName {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return isErrnoName(code) ? code : 'EIO';
}

/** The FUSE reply for any error: its own errno, else EIO. */
export function fuseErrOf(e: unknown): number {
  return fuseErr(errnoNameOf(e));
}

/** The one-line text of any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
