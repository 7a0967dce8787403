/** `trackfs unmount MOUNTPOINT [--lazy]`: flush, close, unmount, and wait for the daemon to exit. */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { callDaemon, ControlRemoteError, ControlUnavailable, ControlUntrusted } from '../control/client.js';
import { unreachable } from '../util/fs-errors.js';
import { mountPaths } from '../util/runtime.js';
import { unmountFuse } from '../fuse/unmount.js';
import { CliError, fail } from './errors.js';
import { isTrackfsMount } from './target.js';
import { processAlive } from '../util/process.js';
import type { ShutdownSummary } from '../control/protocol.js';


async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processAlive(pid);
}

export async function unmountCommand(name: string, lazy: boolean, timeoutSeconds: number): Promise<void> {
  let mountpoint: string;
  try {
    mountpoint = await realpath(name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`${name} does not exist`);
    // ENOTCONN and friends (a dead mount), EACCES (another user's FUSE mount): a mount can still
    // be unmounted by its path. Anything else that cannot be reached is said so.
    mountpoint = resolve(name);
    if (!(await isTrackfsMount(mountpoint))) fail(unreachable('', name, e).message);
  }
  const { socket } = mountPaths(mountpoint);
  const timeoutMs = Math.max(1, timeoutSeconds) * 1000;
  let pid: number;
  try {
    pid = (await callDaemon(socket, { op: 'status' }, 5_000)).pid;
  } catch (e) {
    if (e instanceof ControlUntrusted) fail(e.message);
    if (!(e instanceof ControlUnavailable)) throw e;
    // No daemon answers. A trackfs mount left behind (daemon killed) can still be taken away.
    if (!(await isTrackfsMount(mountpoint))) fail(`${name} is not a trackfs mountpoint`);
    const r = await unmountFuse(mountpoint, { lazy, timeoutMs });
    if (!r.ok) fail(`cannot unmount ${name}: ${r.busy ? 'volume is busy; close it first or use --lazy' : r.message}`);
    if (r.wasMounted) process.stderr.write(`trackfs: warning: no daemon answered for ${name}; removed the mount, the journal was not closed (the next mount recovers it)\n`);
    return;
  }
  let summary: ShutdownSummary;
  try {
    summary = await callDaemon(socket, { op: 'unmount', lazy }, timeoutMs);
  } catch (e) {
    if (e instanceof ControlRemoteError) fail(`cannot unmount ${name}: ${e.message}`);
    throw new CliError(`cannot unmount ${name}: ${(e as Error).message}`);
  }
  if (!(await waitForExit(pid, timeoutMs))) fail(`daemon (pid ${pid}) did not exit within ${timeoutSeconds} s`);
  if (!summary.journalClean) {
    const why = summary.errors.length > 0 ? ` (${summary.errors.join('; ')})` : '';
    fail(`unmounted ${name}, but the journal was left active${why}; the next mount recovers it by the crash rules`);
  }
}
