/**
 * Where a live mount keeps its control socket, its registration and (by default) its log. A mount
 * is known by an id derived from its mountpoint's real path, so any later command can find it from
 * the path a user types.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function runtimeDir(): string {
  const override = process.env['TRACKFS_RUNTIME_DIR'];
  if (override) return override;
  if (process.getuid?.() === 0 && process.platform === 'linux') return '/run/trackfs';
  const xdg = process.env['XDG_RUNTIME_DIR'];
  if (xdg) return join(xdg, 'trackfs');
  return join(tmpdir(), `trackfs-${process.getuid?.() ?? 'user'}`);
}

export function ensureRuntimeDir(): string {
  const dir = runtimeDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function mountId(realMountpoint: string): string {
  return createHash('sha256').update(realMountpoint).digest('hex').slice(0, 16);
}

export interface MountPaths {
  id: string;
  socket: string;
  info: string;
  log: string;
}

export function mountPaths(realMountpoint: string): MountPaths {
  const id = mountId(realMountpoint);
  const dir = runtimeDir();
  return { id, socket: join(dir, `${id}.sock`), info: join(dir, `${id}.json`), log: join(dir, `${id}.log`) };
}
