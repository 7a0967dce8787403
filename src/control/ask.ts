/**
 * Asking a mount by its mountpoint: finds its socket, and turns "nobody answers" into a message
 * that says what is there (a dead trackfs mount, or no trackfs mount at all). For the CLI and for
 * programs (the backup engine) alike; errors are one-line ErrnoErrors.
 */
import { realpath, stat } from 'node:fs/promises';
import { ErrnoError, errnoNameOf } from '../util/errno.js';
import { readMounts, type MountEntry } from '../util/mountinfo.js';
import { mountPaths } from '../util/runtime.js';
import { callDaemon, ControlRemoteError, ControlUnavailable, ControlUntrusted, streamDaemon } from './client.js';
import { unreachable } from '../util/fs-errors.js';
import type { ItemOf, PlainOp, ReplyOf, RequestOf, StreamOp } from './protocol.js';

/** A live mount as the control channel knows it. */
export interface MountRef {
  mountpoint: string;
  socket: string;
}

/** The mount at directory `dir` (its real path): where its daemon would answer. */
export async function mountRefAt(dir: string): Promise<MountRef> {
  const mountpoint = await realpath(dir);
  return { mountpoint, socket: mountPaths(mountpoint).socket };
}

export async function isTrackfsMount(mountpoint: string): Promise<boolean> {
  return (await trackfsMountAt(mountpoint)) !== null;
}

async function trackfsMountAt(mountpoint: string): Promise<MountEntry | null> {
  const mounts = await readMounts();
  return mounts?.find((m) => m.mountPoint === mountpoint && m.fsType === 'fuse.trackfs') ?? null;
}

/** The one-line error for a failed exchange with the mount's daemon. */
async function explain(mount: MountRef, e: unknown): Promise<unknown> {
  if (e instanceof ControlRemoteError) return new ErrnoError(errnoNameOf(e), e.message);
  if (e instanceof ControlUntrusted) return new ErrnoError('EACCES', e.message);
  if (e instanceof ControlUnavailable) {
    const entry = await trackfsMountAt(mount.mountpoint);
    const me = process.getuid?.();
    // Another user's mount answers on that user's socket only: not a daemon that is stuck or gone.
    if (entry && entry.userId !== undefined && me !== undefined && entry.userId !== me) {
      return new ErrnoError('EACCES', `trackfs mount at ${mount.mountpoint} is another user's (uid ${entry.userId}): only that user can ask its daemon`);
    }
    if (entry) return new ErrnoError('ENOTCONN', `trackfs mount at ${mount.mountpoint} does not answer (${e.reason}); its daemon may be stuck or gone`);
    return new ErrnoError('EINVAL', `${mount.mountpoint} is not a trackfs mountpoint`);
  }
  return e;
}

export async function askMount<K extends PlainOp>(mount: MountRef, req: RequestOf<K>, timeoutMs?: number): Promise<ReplyOf<K>> {
  try {
    return await callDaemon(mount.socket, req, timeoutMs);
  } catch (e) {
    throw await explain(mount, e);
  }
}

/** A streamed request: its result, and its items as they arrive (errors explained as above). */
export async function streamMount<K extends StreamOp>(
  mount: MountRef,
  req: RequestOf<K>,
  idleMs?: number,
): Promise<{ result: ReplyOf<K>; items: AsyncIterable<ItemOf<K>[]> }> {
  let opened;
  try {
    opened = await streamDaemon(mount.socket, req, idleMs);
  } catch (e) {
    throw await explain(mount, e);
  }
  const { items } = opened;
  async function* explained(): AsyncGenerator<ItemOf<K>[]> {
    try {
      yield* items;
    } catch (e) {
      throw await explain(mount, e);
    }
  }
  return { result: opened.result, items: explained() };
}

/** Whether `path` is a directory (a mountpoint candidate); one-line errors for what it cannot be. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTCONN') {
      throw new ErrnoError('ENOTCONN', `${path}: the trackfs daemon is gone (transport endpoint is not connected); unmount it with 'trackfs unmount ${path}'`);
    }
    throw unreachable('', path, e);
  }
}
