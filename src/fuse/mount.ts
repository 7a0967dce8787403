/**
 * Mounting through fuse-native, loaded lazily so that everything but `mount` runs without FUSE
 * (macOS without macFUSE, machines without libfuse2). The subclass fixes what fuse-native gets
 * wrong for trackfs: it builds the -o string itself (big_writes is not exposed; numeric zeros are
 * dropped) and never unmounts through a shell.
 */
import type { FuseOps } from 'fuse-native';
import { ErrnoError } from '../util/errno.js';
import { unmountOwnFuse, type unmountFuse } from './unmount.js';
import { loadFuseNative } from './availability.js';

export interface FuseMountOptions {
  mountpoint: string;
  /** Identifies the mount in /proc/self/mountinfo as `trackfs:<id>`, type fuse.trackfs. */
  id: string;
  allowOther: boolean;
  readOnly: boolean;
  /**
   * More -o options, each `name` or `name=value` from a fixed vocabulary (e.g. the native data
   * path's `modules=trackfs` and `trackfs_fastpath=<id>`; never a path or user text).
   */
  extraOptions?: readonly string[];
  /**
   * A libfuse module to stack above fuse-native's file system (the native data path): its -o
   * options, and a check made once fuse-native is loaded (null: usable; else why not, and the
   * mount goes on without it).
   */
  module?: { options: readonly string[]; unusable(): string | null };
}

export interface FuseHandle {
  /** Unmounts via fusermount/umount without a shell, only if the mount there is this one; resolves the result. */
  unmount(lazy: boolean, timeoutMs: number): ReturnType<typeof unmountFuse>;
  /** Why the module asked for was not stacked (null: it was, or none was asked for). */
  moduleRefused: string | null;
}

/** How the mount shows in /proc/self/mountinfo (its source), with type fuse.trackfs. */
export function fsnameOf(id: string): string {
  return `trackfs:${id}`;
}

export function fuseOptionString(opts: FuseMountOptions): string {
  const o = ['big_writes', 'auto_unmount', 'default_permissions', `fsname=${fsnameOf(opts.id)}`, 'subtype=trackfs', 'max_read=131072'];
  if (opts.allowOther) o.push('allow_other');
  if (opts.readOnly) o.push('ro');
  for (const extra of opts.extraOptions ?? []) {
    if (!/^[a-z_]+(=[A-Za-z0-9_:]+)?$/.test(extra)) throw new ErrnoError('EINVAL', `bad FUSE option ${JSON.stringify(extra)}`);
    o.push(extra);
  }
  const out = `-o${o.join(',')}`;
  // fuse-native cuts the string at 1024 bytes: a cut option would be a different option.
  if (Buffer.byteLength(out) >= 1024) throw new ErrnoError('EINVAL', 'FUSE option string longer than 1023 bytes');
  return out;
}

export async function mountFuse(ops: FuseOps, opts: FuseMountOptions): Promise<FuseHandle> {
  const Fuse = await loadFuseNative();
  const moduleRefused = opts.module?.unusable() ?? null;
  const extraOptions = [...(opts.extraOptions ?? []), ...(opts.module && !moduleRefused ? opts.module.options : [])];
  const optionString = fuseOptionString({ ...opts, extraOptions });
  class TrackfsFuse extends Fuse {
    override _fuseOptions(): string {
      return optionString;
    }
  }
  // No per-request timer in fuse-native (a setTimeout and clearTimeout per request, about 10 % of
  // the CPU of a 4 KiB request): the volume answers requests stuck too long itself, from a
  // once-a-second sweep (Volume.expireStuck, TIMEOUTS.fuseOpMs).
  const fuse = new TrackfsFuse(opts.mountpoint, ops, { timeout: false as unknown as number });
  await new Promise<void>((resolve, reject) => {
    fuse.mount((err) => {
      if (!err) return resolve();
      // libfuse can fail after the kernel mount was made (a bad -o option): do not leave it behind,
      // but take nothing else down (the fsname is ours alone while we hold the mountpoint's lock).
      void unmountOwnFuse(opts.mountpoint, fsnameOf(opts.id), { lazy: true, timeoutMs: 5_000 });
      reject(new ErrnoError('EIO', `cannot mount FUSE at ${opts.mountpoint}: ${err.message}${process.platform === 'linux' ? ' (is /dev/fuse present and fusermount installed?)' : ''}`));
    });
  });
  return {
    unmount: (lazy, timeoutMs) => unmountOwnFuse(opts.mountpoint, fsnameOf(opts.id), { lazy, timeoutMs }),
    moduleRefused,
  };
}
