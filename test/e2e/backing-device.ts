/**
 * The image behind a small FUSE helper (backing-helper.ts): a "device" the test can take away
 * (SIGKILL), stall (SIGSTOP), watch (it counts the fsyncs it is asked for) and break (its fsyncs
 * fail on request). The helper and its mount are the test's own and are torn down by the harness.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseMountinfo } from '../../src/util/mountinfo.js';
import { waitFor, type Harness } from './harness.js';

const BACKING_HELPER = fileURLToPath(new URL('./backing-helper.js', import.meta.url));

export function mountedAt(path: string): boolean {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === path);
}

export interface BackingDevice {
  pid: number;
  /** The image as trackfs should be given it: disk.img on the helper's mount. */
  image: string;
  dir: string;
  /** The file the helper serves. */
  source: string;
  /** How many fsyncs of the image the helper has answered so far. */
  fsyncs(): number;
  /** Waits until the helper has answered at least `n` fsyncs. */
  waitFsyncs(n: number): Promise<void>;
  /** From now on every fsync of the image fails with EIO (true), or succeeds again (false). */
  failFsync(fail: boolean): Promise<void>;
}

/** Starts the helper over a sparse file of `size` bytes and waits until it serves. */
export async function startBackingDevice(h: Harness, size: number): Promise<BackingDevice> {
  const dir = join(h.dir, 'backing');
  mkdirSync(dir);
  const source = join(h.dir, 'source.img');
  execFileSync('truncate', ['-s', String(size), source]);
  const child = spawn(process.execPath, [BACKING_HELPER, source, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  h.onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await waitFor('the backing mount to go', () => !mountedAt(dir), 5_000).catch(() => {
      try { execFileSync('fusermount', ['-uz', dir]); } catch { /* gone */ }
    });
  });
  let ready = false;
  let fsyncs = 0;
  let mode = 'pass';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') ready = true;
    const f = /^fsync (\d+) /.exec(line);
    if (f) fsyncs = Number(f[1]);
    const m = /^fsync-mode (\w+)$/.exec(line);
    if (m) mode = m[1]!;
  });
  child.stdin!.on('error', () => { /* the helper was killed: nothing more to tell it */ });
  await waitFor('the backing helper to mount', () => {
    if (child.exitCode !== null) throw new Error(`the backing helper exited ${child.exitCode}: ${stderr}`);
    return ready;
  }, 10_000);
  return {
    pid: child.pid!,
    image: join(dir, 'disk.img'),
    dir,
    source,
    fsyncs: () => fsyncs,
    waitFsyncs: (n) => waitFor(`the backing helper to answer ${n} fsync(s) (${fsyncs} so far)`, () => fsyncs >= n, 10_000, 10),
    failFsync: async (fail) => {
      child.stdin!.write(fail ? 'fail-fsync\n' : 'pass-fsync\n');
      const want = fail ? 'fail' : 'pass';
      await waitFor(`the backing helper to switch fsync to ${want}`, () => mode === want, 5_000, 10);
    },
  };
}
