/**
 * Asking a mount by its mountpoint: finds its socket, and turns "nobody answers" into a message
 * that says what is there (a dead trackfs mount, or no trackfs mount at all). For the CLI and for
 * programs (the backup engine) alike; errors are one-line ErrnoErrors.
 */
import { realpath, stat } from 'node:fs/promises';
import { ErrnoError, errnoNameOf } from '../util/errno.js';
import { readMounts } from '../util/mountinfo.js';
import { mountPaths } from '../util/runtime.js';
import { callDaemon, ControlRemoteError, ControlUnavailable } from './client.js';
import type { ControlOp, ReplyOf, RequestOf } from './protocol.js';

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
  const mounts = await readMounts();
  return !!mounts?.some((m) => m.mountPoint === mountpoint && m.fsType === 'fuse.trackfs');
}

export async function askMount<K extends ControlOp>(mount: MountRef, req: RequestOf<K>, timeoutMs?: number): Promise<ReplyOf<K>> {
  try {
    return await callDaemon(mount.socket, req, timeoutMs);
  } catch (e) {
    if (e instanceof ControlRemoteError) throw new ErrnoError(errnoNameOf(e), e.message);
    if (e instanceof ControlUnavailable) {
      if (await isTrackfsMount(mount.mountpoint)) throw new ErrnoError('ENOTCONN', `trackfs mount at ${mount.mountpoint} does not answer (${e.reason}); its daemon may be stuck or gone`);
      throw new ErrnoError('EINVAL', `${mount.mountpoint} is not a trackfs mountpoint`);
    }
    throw e;
  }
}

/** Whether `path` is a directory (a mountpoint candidate); one-line errors for what it cannot be. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTCONN') {
      throw new ErrnoError('ENOTCONN', `${path}: the trackfs daemon is gone (transport endpoint is not connected); unmount it with 'trackfs unmount ${path}'`);
    }
    throw new ErrnoError('ENOENT', `${path} does not exist`);
  }
}
