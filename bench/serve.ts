/**
 * Starting and stopping the servers the benchmark measures: waiting for a mount to appear, stopping
 * a server we spawned, and the last-resort stop a signal handler can run. Only our own servers and
 * our own mountpoints (under the benchmark's temp dirs) are ever touched.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { parseMountinfo, readMounts } from '../src/util/mountinfo.js';
import { processAlive } from '../src/util/process.js';
import { unmountFuse } from '../src/fuse/unmount.js';
import { withTimeout } from '../src/mount/bounded.js';
import { pollUntil } from './wait.js';

/** How long a server gets to appear, or to go away, before it is pushed. */
export const SERVER_WAIT_MS = 10_000;

async function isMounted(path: string): Promise<boolean> {
  return !!(await readMounts())?.some((m) => m.mountPoint === path);
}

/** The same, synchronously, for the signal handler. */
function isMountedNow(path: string): boolean {
  try {
    return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === path);
  } catch {
    return false;
  }
}

/** A server we spawned, and why it is gone if it is. */
export class ChildServer {
  private failure: string | null = null;
  private readonly exit: Promise<unknown>;

  constructor(readonly child: ChildProcess) {
    // Without a listener a spawn failure (a missing binary) would be thrown from the event loop.
    child.on('error', (e) => { this.failure ??= `server failed: ${e.message}`; });
    this.exit = once(child, 'exit').then(() => {
      this.failure ??= `server exited with ${child.exitCode ?? child.signalCode}`;
    }, () => {});
  }

  get pid(): number | null { return this.child.pid ?? null; }

  /** Null while the server runs; else why it stopped. */
  get gone(): string | null { return this.failure; }

  /** Resolves once `mountpoint` is mounted; rejects if the server dies first or it takes too long. */
  async waitMounted(mountpoint: string): Promise<void> {
    await pollUntil(`mounting ${mountpoint}`, async () => {
      if (await isMounted(mountpoint)) return true;
      if (this.failure) throw new Error(this.failure);
      return false;
    }, SERVER_WAIT_MS);
  }

  /** Unmounts `mountpoint`, stops the server (SIGTERM, then SIGKILL), and lazily unmounts what is left. */
  async stop(mountpoint: string): Promise<void> {
    await unmountFuse(mountpoint, { lazy: false, timeoutMs: SERVER_WAIT_MS });
    if (!this.failure) {
      this.child.kill('SIGTERM');
      await withTimeout(this.exit, SERVER_WAIT_MS, `server ${this.pid} to exit`).catch(() => this.child.kill('SIGKILL'));
    }
    if (await isMounted(mountpoint)) await unmountFuse(mountpoint, { lazy: true, timeoutMs: SERVER_WAIT_MS });
  }
}

/** Resolves once the process (a daemon, not our child) has gone, or after the wait; whether it went. */
export async function waitGone(pid: number): Promise<boolean> {
  return pollUntil(`pid ${pid} to exit`, () => !processAlive(pid), SERVER_WAIT_MS).then(() => true, () => false);
}

/** Synchronous last-resort stop for the signal handler: our own server's pid and our own mountpoint only. */
export function forceStop(pid: number | null, mountpoint: string): void {
  if (isMountedNow(mountpoint)) spawnSync('fusermount', ['-uz', '--', mountpoint], { stdio: 'ignore' });
  if (pid && processAlive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}
