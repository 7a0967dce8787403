/**
 * What a user names on the command line for status/changes/unmount: a live mountpoint (asked
 * over its control socket) or a journal file (read offline).
 */
import { stat, realpath } from 'node:fs/promises';
import { callDaemon, ControlRemoteError, ControlUnavailable, ControlUntrusted } from '../control/client.js';
import type { ControlRequest } from '../control/protocol.js';
import { readMounts } from '../util/mountinfo.js';
import { mountPaths } from '../util/runtime.js';
import { fail } from './errors.js';
import { unreachable } from '../util/fs-errors.js';

export type Target = { kind: 'mount'; mountpoint: string; socket: string } | { kind: 'journal'; path: string };

export async function resolveTarget(name: string): Promise<Target> {
  let st;
  try {
    st = await stat(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') fail(`${name}: the trackfs daemon is gone (transport endpoint is not connected); unmount it with 'trackfs unmount ${name}'`);
    fail(unreachable('', name, e).message);
  }
  if (st.isDirectory()) {
    const real = await realpath(name);
    return { kind: 'mount', mountpoint: real, socket: mountPaths(real).socket };
  }
  if (st.isFile()) return { kind: 'journal', path: name };
  fail(`${name} is neither a trackfs mountpoint nor a journal file`);
}

/** Asks the daemon of a mount; turns "nobody answers" into a message that says what is there. */
export async function askMount<T>(target: Extract<Target, { kind: 'mount' }>, req: ControlRequest, timeoutMs = 10_000): Promise<T> {
  try {
    return await callDaemon<T>(target.socket, req, timeoutMs);
  } catch (e) {
    if (e instanceof ControlRemoteError || e instanceof ControlUntrusted) fail(e.message);
    if (e instanceof ControlUnavailable) {
      const mounts = await readMounts();
      const here = mounts?.find((m) => m.mountPoint === target.mountpoint);
      if (here && here.fsType === 'fuse.trackfs') fail(`trackfs mount at ${target.mountpoint} does not answer (${e.reason}); its daemon may be stuck or gone`);
      fail(`${target.mountpoint} is not a trackfs mountpoint`);
    }
    throw e;
  }
}

export async function trackfsMountAt(mountpoint: string): Promise<boolean> {
  const mounts = await readMounts();
  return !!mounts?.some((m) => m.mountPoint === mountpoint && m.fsType === 'fuse.trackfs');
}
