/**
 * The one place that turns failures into errno numbers. FUSE replies use negative numbers from
 * os.constants.errno (not fuse-native's Linux table), so macOS gets its own values.
 */
import { constants } from 'node:os';

const ERRNO = constants.errno as Record<string, number>;

export type ErrnoName = 'EIO' | 'ENODEV' | 'ENOSPC' | 'EROFS' | 'EPERM' | 'EINVAL' | 'ENOENT' | 'EBUSY' | 'EACCES' | 'EISDIR' | 'ENOTDIR' | 'EBADF' | 'ENOSYS' | 'ENXIO' | 'ENOTCONN' | 'ESTALE' | 'ETIMEDOUT' | 'EEXIST' | 'ENOTEMPTY' | 'ESRCH';

export function errno(name: ErrnoName): number {
  return ERRNO[name] ?? ERRNO['EIO']!;
}

/** Negative errno for a FUSE reply. */
export function fuseError(name: ErrnoName): number {
  return -errno(name);
}

/** Error carrying a deliberate errno name, thrown by volume and tracker code. */
export class ErrnoError extends Error {
  constructor(readonly code: ErrnoName, message: string) {
    super(message);
    this.name = 'ErrnoError';
  }
}

/** The errno name an error carries, or EIO when it carries none we recognise. */
export function errnoNameOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code in ERRNO ? code : 'EIO';
}

export function fuseErrorOf(e: unknown): number {
  return -(ERRNO[errnoNameOf(e)] ?? ERRNO['EIO']!);
}
