/**
 * Where a live mount keeps its control socket, its registration and (by default) its log. A mount
 * is known by an id derived from its mountpoint's real path, so any later command can find it from
 * the path a user types. The directory must be private to the user (see private-dir.ts): whoever
 * can put files there can answer for a mount or have the daemon write where they choose.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPrivateDir, ensurePrivateDir } from './private-dir.js';
import { ErrnoError } from './errno.js';

export function runtimeDir(): string {
  const override = process.env['TRACKFS_RUNTIME_DIR'];
  if (override) return override;
  if (process.getuid?.() === 0 && process.platform === 'linux') return '/run/trackfs';
  const xdg = process.env['XDG_RUNTIME_DIR'];
  if (xdg) return join(xdg, 'trackfs');
  return join(tmpdir(), `trackfs-${process.getuid?.() ?? 'user'}`);
}

/** The runtime directory, created 0700 if missing; throws a one-line ErrnoError if it is not private. */
export function ensureRuntimeDir(): string {
  return asRuntimeDirError(() => ensurePrivateDir(runtimeDir()));
}

/** The runtime directory as it is, without creating it: 'missing', or 'ok' when private (else throws). */
export function checkRuntimeDir(dir: string): 'ok' | 'missing' {
  return asRuntimeDirError(() => checkPrivateDir(dir));
}

function asRuntimeDirError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ErrnoError) throw new ErrnoError(e.code, `runtime directory ${e.message}`);
    throw e;
  }
}

export function mountId(realMountpoint: string): string {
  return createHash('sha256').update(realMountpoint).digest('hex').slice(0, 16);
}

export interface MountPaths {
  id: string;
  socket: string;
  info: string;
  log: string;
  /** Held (flock) by the daemon of this mountpoint for its whole life; never removed. */
  lock: string;
}

export function mountPaths(realMountpoint: string): MountPaths {
  const id = mountId(realMountpoint);
  const dir = runtimeDir();
  return { id, socket: join(dir, `${id}.sock`), info: join(dir, `${id}.json`), log: join(dir, `${id}.log`), lock: join(dir, `${id}.lock`) };
}
