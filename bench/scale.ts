/**
 * Mount time and memory of trackfs over a 16 TiB sparse image: a fresh mount in strict mode (mount
 * time, RSS); then many random 4K writes spread over the whole image, each a first touch, and the
 * daemon's RSS after them; then a strict remount of that journal (load time of a used journal).
 * The writes run in ordered mode with SCALE_WRITERS writers: in strict mode each of them waits for
 * its own journal fdatasync (~1 500 IOPS here, 11 minutes for 1M writes), and the memory held for
 * the bitmap does not depend on the mode.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { trackfsBin } from './paths.js';
import { rssMiB } from './procfs.js';
import { SCALE_WRITERS, type ScaleResult } from './results.js';
import { forceStop } from './serve.js';
import { round } from './stats.js';
import { daemonPid, mountTrackfs, unmountTrackfs } from './trackfs-cli.js';

const TIB = 1024 ** 4;

/** ext4 caps a file just below 16 TiB (4 KiB blocks): makes the largest sparse file the file system allows. */
export function createHugeSparseFile(path: string): number {
  let size = 16 * TIB;
  for (;;) {
    if (spawnSync('truncate', ['-s', String(size), path]).status === 0) return size;
    size -= 1024 * 1024;
    if (size < 15 * TIB) throw new Error('cannot create a ~16 TiB sparse file here');
  }
}

/** Why unmounts left the journal active, from the daemon's log in the runtime dir. */
function releaseErrors(runDir: string): string {
  const log = readdirSync(runDir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(runDir, f), 'utf8')).join('\n');
  const why = [...log.matchAll(/"msg":"(release: [^"]*)"/g)].map((m) => m[1]).join('; ');
  return why ? ` (${why}; ${/"message":"([^"]*within[^"]*)"/.exec(log)?.[1] ?? ''})` : '';
}

function elapsedMs(t0: bigint): number {
  return Number((process.hrtime.bigint() - t0) / 1_000_000n);
}

export async function scaleTest(scaleWrites: number): Promise<ScaleResult> {
  const bin = trackfsBin();
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-scale-'));
  const undoDir = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const image = join(dir, 'huge.raw');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const runDir = join(dir, 'run');
  const env = { ...process.env, TRACKFS_RUNTIME_DIR: runDir };
  let pid: number | null = null;
  const undoMount = onCleanup(() => forceStop(pid, mnt));
  const mount = (durability: string): number => {
    const t0 = process.hrtime.bigint();
    mountTrackfs(bin, image, mnt, ['--durability', durability], env);
    const ms = elapsedMs(t0);
    pid = daemonPid(bin, mnt, env);
    return ms;
  };
  const unclean: string[] = [];
  const unmount = (what: string): number => {
    const t0 = process.hrtime.bigint();
    const failed = unmountTrackfs(bin, mnt, env);
    const ms = elapsedMs(t0);
    // Not fatal for the measurement (the next mount recovers the journal), but a finding: say why.
    if (failed !== null) unclean.push(`${what}: ${failed.replace(/^trackfs: /, '')}${releaseErrors(runDir)}`);
    return ms;
  };
  try {
    const size = createHugeSparseFile(image);
    const mountMs = mount('strict');
    const rssAfterMountMiB = rssMiB(pid);
    unmount('unmount after the fresh mount');
    mount('ordered');
    const t1 = Date.now();
    const r = spawnSync('fio', [
      '--name=scale', `--filename=${join(mnt, 'volume')}`, '--rw=randwrite', '--bs=4k', '--ioengine=psync',
      `--number_ios=${Math.ceil(scaleWrites / SCALE_WRITERS)}`, `--numjobs=${SCALE_WRITERS}`, '--group_reporting', `--size=${size}`,
      '--norandommap', '--randrepeat=0', '--output-format=json',
    ], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const fioSeconds = (Date.now() - t1) / 1000;
    type Out = { jobs: { write: { iops: number; total_ios: number } }[] };
    const w = r.status === 0 ? (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as Out).jobs[0]!.write : null;
    const rssAfterWritesMiB = rssMiB(pid);
    const unmountMs = unmount('unmount after the writes');
    const remountMs = mount('strict');
    const rssAfterRemountMiB = rssMiB(pid);
    unmount('final unmount');
    return {
      imageBytes: size, mountMs, rssAfterMountMiB: round(rssAfterMountMiB, 1)!,
      writes: w?.total_ios ?? 0, writeIops: round(w?.iops ?? NaN, 0) ?? NaN, fioSeconds,
      rssAfterWritesMiB: round(rssAfterWritesMiB, 1)!, unmountMs, remountMs, rssAfterRemountMiB: round(rssAfterRemountMiB, 1)!,
      ...(r.status === 0 ? {} : { error: r.stderr.trim().split('\n').slice(-1)[0] ?? 'fio failed' }),
      ...(unclean.length ? { uncleanUnmounts: unclean.join(' | ') } : {}),
    };
  } finally {
    forceStop(pid, mnt);
    undoMount();
    rmSync(dir, { recursive: true, force: true });
    undoDir();
  }
}
