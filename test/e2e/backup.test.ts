/**
 * End to end: checkpoints and incremental backup, proved byte for byte with real clients.
 *  - ext4 on the volume (mkfs.ext4, losetup, mount, files written and deleted), backed up over
 *    several checkpoints: each target equals the volume (SHA-256) and e2fsck -fn is clean on it;
 *    the bytes each incremental copied are printed as diagnostics;
 *  - random dd writes between checkpoints: each incremental copies exactly the written clusters;
 *  - kill -9 of the daemon mid-epoch, fusermount -uz, remount, incremental backup: identical;
 *    the same with the kill right after a checkpoint, and with an offline backup of the crashed
 *    journal;
 *  - two consumers with interleaved bases from one mount, and `changes --since` of each base;
 *  - offline backup from image + journal, and of an image modified while unmounted (re-based,
 *    full copy);
 *  - an interrupted backup (sidecar left in-progress, target partly overwritten), simulated and
 *    by a real SIGINT mid-copy: the next run redoes it and the target ends identical.
 * All I/O on the mount is done by child processes (dd, cp, mkfs, sha256sum, trackfs backup).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import {
  BIN,
  clustersOfExtents,
  clustersOfRanges,
  e2e,
  extentsOfClusters,
  settleWithin,
  TEST_TIMEOUT_MS,
  waitFor,
  withTimeout,
  writeRange,
  type Harness,
} from './harness.js';
import { mulberry32, seededBytes, type WriteSpec } from './prng.js';
import { startLoopWriter, waitForWrites } from './writer.js';
import { assertDiffer, assertIdentical, backup, changesSince, checkpoint, ID_RE, readSidecar, type BackupJson } from './backup-helpers.js';
import type { CheckpointOutcome } from '../../src/cli/checkpoint.js';

const KiB = 1024;
const MiB = 1024 * KiB;


const idNumber = (id: string) => Number(id.split(':')[1]);
const idGen = (id: string) => id.split(':')[0]!;

function bytesOf(clusters: Set<number>, cs: number, size: number): number {
  return extentsOfClusters(clusters, cs, size).reduce((n, e) => n + e.length, 0);
}

function union(...sets: Set<number>[]): Set<number> {
  const out = new Set<number>();
  for (const s of sets) for (const c of s) out.add(c);
  return out;
}

const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

async function applyWrites(h: Harness, writes: WriteSpec[], path = h.volume): Promise<void> {
  for (const [i, w] of writes.entries())
    await h.ddWriteOk(w.offset, seededBytes(w.seed, w.length), {
      path,
      direct: path === h.volume && i % 2 === 0 && w.offset % 512 === 0 && w.length % 512 === 0,
    });
}

/** `count` random writes (1 byte to 300 KiB, anywhere in the image), seeded. */
function randomWrites(seed: number, count: number, size: number): WriteSpec[] {
  const rng = mulberry32(seed);
  const out: WriteSpec[] = [];
  for (let i = 0; i < count; i++) {
    const kind = Math.floor(rng() * 4);
    const length =
      kind === 0 ? 1 + Math.floor(rng() * 64) : kind === 1 ? 4 * KiB : kind === 2 ? 64 * KiB : 1 + Math.floor(rng() * 300 * KiB);
    const offset = kind === 1 || kind === 2 ? Math.floor(rng() * ((size - length) / 512)) * 512 : Math.floor(rng() * (size - length));
    out.push({ offset, length, seed: seed * 1000 + i });
  }
  return out;
}

/** Whole-cluster writes to the given clusters (each with its own data). */
function clusterWrites(clusters: Iterable<number>, cs: number, seed: number): WriteSpec[] {
  return [...clusters].map((c, i) => ({ offset: c * cs, length: cs, seed: seed * 1000 + i }));
}

/** `n` distinct clusters per set, disjoint between sets, seeded; some are neighbours. */
function disjointClusterSets(seed: number, sets: number, n: number, clusterCount: number): Set<number>[] {
  const rng = mulberry32(seed);
  const used = new Set<number>();
  const out: Set<number>[] = [];
  for (let s = 0; s < sets; s++) {
    const set = new Set<number>();
    while (set.size < n) {
      const c = Math.floor(rng() * (clusterCount - 1));
      for (const x of set.size % 3 === 0 ? [c, c + 1] : [c]) {
        if (!used.has(x) && set.size < n) {
          used.add(x);
          set.add(x);
        }
      }
    }
    out.push(set);
  }
  return out;
}

// --------------------------------------------------------------------------- ext4 ----

function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

const loopAttached = (loop: string) => existsSync(`/sys/block/${basename(loop)}/loop/backing_file`);

/**
 * An ext4 on the volume, attached with losetup and mounted on a directory of the test's own. The
 * harness takes it down (umount, losetup -d) before it unmounts trackfs, if the test did not.
 */
class Ext4OnVolume {
  readonly dir: string;
  private loop: string | null = null;

  constructor(private readonly h: Harness, readonly device: string = h.volume, name = 'ext4') {
    this.dir = join(h.dir, name);
    mkdirSync(this.dir);
    h.beforeUnmount(() => this.forceDown());
  }

  async mkfs(): Promise<void> {
    await this.h.runOk('mkfs.ext4', ['-q', '-F', this.device], { timeoutMs: 60_000 });
  }

  async up(opts: { readOnly?: boolean } = {}): Promise<void> {
    const r = await this.h.runOk('losetup', ['--find', '--show', ...(opts.readOnly ? ['--read-only'] : []), this.device]);
    this.loop = r.stdout.trim();
    await this.h.runOk('mount', [...(opts.readOnly ? ['-o', 'ro'] : []), this.loop, this.dir]);
  }

  /** umount, losetup -d, and wait until the loop device has really let go of the volume. */
  async down(): Promise<void> {
    if (mountedAt(this.dir)) await this.h.runOk('umount', [this.dir], { timeoutMs: 60_000 });
    if (this.loop) {
      const loop = this.loop;
      await this.h.runOk('losetup', ['-d', loop]);
      this.loop = null;
      await waitFor(`${loop} to detach`, () => !loopAttached(loop), 10_000);
    }
  }

  /** Shell work inside the mounted file system, as a child process (cwd = the fs root). */
  async sh(script: string): Promise<void> {
    await this.h.runOk('sh', ['-ec', `cd '${this.dir}'\n${script}`], { timeoutMs: 60_000 });
  }

  private forceDown(): void {
    if (mountedAt(this.dir)) {
      try { execFileSync('umount', ['-l', this.dir], { stdio: 'ignore', timeout: 20_000 }); } catch { /* reported below */ }
    }
    if (this.loop) {
      try { execFileSync('losetup', ['-d', this.loop], { stdio: 'ignore', timeout: 20_000 }); } catch { /* gone */ }
      this.loop = null;
    }
    if (mountedAt(this.dir)) throw new Error(`${this.dir} is still mounted`);
  }
}

/** Seeded files to copy into the file system (written in the test's own dir, not on the mount). */
async function seededFile(h: Harness, name: string, seed: number, length: number): Promise<string> {
  return h.scratchFile(name, seededBytes(seed, length));
}

test('ext4 on the volume: files written and deleted, incremental backups over 4 checkpoints; each target identical and fsck-clean', { timeout: 150_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 256 * MiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const fs = new Ext4OnVolume(h);
  const target = join(h.dir, 'backup.img');
  const f = async (name: string, seed: number, length: number) => seededFile(h, name, seed, length);

  // Each round changes the file system (mounted from a loop device on the volume), then takes it down.
  const rounds: { what: string; run: () => Promise<void> }[] = [
    {
      what: 'mkfs.ext4; 3 directories, 4 large files, 40 small ones',
      run: async () => {
        await fs.mkfs();
        const [a, b, c, d] = [await f('a', 1, 3 * MiB), await f('b', 2, MiB), await f('c', 3, 2 * MiB), await f('d', 4, 512 * KiB)];
        const small = await f('small', 5, 10 * KiB);
        await fs.up();
        await fs.sh(`mkdir -p d1 d2/sub d3
cp '${a}' d1/a; cp '${b}' d1/b; cp '${c}' d2/c; cp '${d}' d2/sub/d
for i in $(seq 1 40); do cp '${small}' d2/sub/s$i; done`);
        await fs.down();
      },
    },
    {
      what: 'rm a 3 MiB file, add a 2 MiB one, overwrite 256 KiB inside another',
      run: async () => {
        const [e, patch] = [await f('e', 6, 2 * MiB), await f('patch', 7, 256 * KiB)];
        await fs.up();
        await fs.sh(`rm d1/a; cp '${e}' d3/e
dd if='${patch}' of=d2/c bs=65536 seek=8 conv=notrunc status=none`);
        await fs.down();
      },
    },
    {
      what: 'rm -r a directory of 41 files, add three 1 MiB files, truncate one',
      run: async () => {
        const g = [await f('g1', 8, MiB), await f('g2', 9, MiB), await f('g3', 10, MiB)];
        await fs.up();
        await fs.sh(`rm -r d2/sub
cp '${g[0]}' d1/g1; cp '${g[1]}' d1/g2; cp '${g[2]}' d3/g3
truncate -s 100K d1/b`);
        await fs.down();
      },
    },
    {
      what: 'rename a directory, append 1 MiB, 60 new small files, rm one',
      run: async () => {
        const [more, tiny] = [await f('more', 11, MiB), await f('tiny', 12, 3 * KiB)];
        await fs.up();
        await fs.sh(`mv d3 d4; cat '${more}' >> d2/c
mkdir d5; for i in $(seq 1 60); do cp '${tiny}' d5/t$i; done
rm d1/b`);
        await fs.down();
      },
    },
  ];

  let previous: BackupJson | null = null;
  const figures: string[] = [];
  for (const [i, round] of rounds.entries()) {
    await round.run();
    if (previous) await assertDiffer(h, h.volume, target, `round ${i} before its backup`);
    const b = await backup(h, h.mnt, target, ['--checkpoint']);
    assert.match(b.checkpoint ?? '', ID_RE);
    assert.equal(b.targetAt, b.checkpoint);
    await assertIdentical(h, h.volume, target, `round ${i} (${round.what})`);
    const fsck: { code: number | null; stdout: string; stderr: string } = await h.run('e2fsck', ['-fn', target], { timeoutMs: 60_000 });
    assert.equal(fsck.code, 0, `e2fsck -fn on the target after round ${i}: exit ${fsck.code}\n${fsck.stdout}${fsck.stderr}`);
    if (!previous) {
      assert.equal(b.full, true, 'the first backup is a full copy');
      assert.equal(b.copiedBytes, SIZE);
      figures.push(`ext4 full backup (round 0, ${round.what}): copied ${b.copiedBytes} of ${SIZE} bytes`);
    } else {
      assert.equal(b.full, false, `round ${i}: incremental (${b.fullReason})`);
      assert.equal(b.redo, false);
      assert.equal(b.base, previous.checkpoint, `round ${i}: base is the previous backup's checkpoint`);
      assert.equal(idGen(b.checkpoint!), idGen(previous.checkpoint!), 'same generation');
      assert.equal(idNumber(b.checkpoint!), idNumber(previous.checkpoint!) + 1, 'the next checkpoint');
      assert.ok(b.copiedBytes > 0, `round ${i}: the incremental copied nothing`);
      assert.ok(b.copiedBytes < SIZE / 4, `round ${i}: the incremental copied ${b.copiedBytes} bytes, not far less than the image (${SIZE})`);
      // Exactly what the journal lists since the base (nothing was written since the checkpoint).
      const c = await changesSince(h, h.mnt, b.base!);
      assert.equal(b.copiedBytes, c.changedBytes, 'copied bytes = changes since the base');
      assert.equal(b.extents, c.extents.length);
      const line = `ext4 incremental ${i} (${round.what}): copied ${b.copiedBytes} of ${SIZE} bytes (${(100 * b.copiedBytes / SIZE).toFixed(2)}%) in ${b.extents} extents`;
      figures.push(line);
    }
    t.diagnostic(figures[figures.length - 1]!);
    previous = b;
  }
  const sidecar = await readSidecar(target);
  assert.equal(sidecar.state, 'complete');
  assert.equal(sidecar.checkpointId, previous!.checkpoint);
  assert.equal(sidecar.runs.length, rounds.length);

  // The backup is usable as it is: mounted read-only, it holds the files with their contents.
  const restored = new Ext4OnVolume(h, target, 'restored');
  await restored.up({ readOnly: true });
  const sums = await h.runOk('sh', ['-ec', `cd '${restored.dir}'; sha256sum d1/g1 d2/c d4/e d5/t60; ls d1 d2 d4 | tr '\\n' ' '`]);
  await restored.down();
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const expectC = Buffer.concat([seededBytes(3, 2 * MiB), seededBytes(11, MiB)]);
  seededBytes(7, 256 * KiB).copy(expectC, 8 * 65536);
  for (const [file, content] of [['d1/g1', seededBytes(8, MiB)], ['d2/c', expectC], ['d4/e', seededBytes(6, 2 * MiB)], ['d5/t60', seededBytes(12, 3 * KiB)]] as const) {
    assert.ok(sums.stdout.includes(`${sha(content)}  ${file}`), `restored ${file} has the content written (${sums.stdout})`);
  }
  assert.doesNotMatch(sums.stdout, /\bsub\b|\bd3\b/, 'deleted and renamed entries are gone from the backup');
});

// ---------------------------------------------------------------------- dd writes ----

test('random dd writes between checkpoints: each incremental copies exactly the written clusters, target identical', { timeout: 90_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 64 * MiB + 5 * KiB; // the last 4K cluster is partial
  const CS = 4 * KiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '4K' });
  const target = join(h.dir, 'backup.img');

  await applyWrites(h, randomWrites(1, 20, SIZE));
  const first = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(first.full, true);
  assert.equal(first.copiedBytes, SIZE);
  await assertIdentical(h, h.volume, target, 'after the full backup');

  let base = first.checkpoint!;
  let pending = new Set<number>();
  for (let round = 1; round <= 5; round++) {
    const writes = randomWrites(100 + round, 12, SIZE);
    // The last cluster (partial) once, and the very first byte once.
    if (round === 2) writes.push({ offset: SIZE - 3, length: 3, seed: 77 });
    if (round === 4) writes.push({ offset: 0, length: 1, seed: 78 });
    await applyWrites(h, writes);
    pending = union(pending, clustersOfRanges(writes, CS));
    await assertDiffer(h, h.volume, target, `round ${round}`);
    // Round 3 backs up without a checkpoint: the target stays "at" the same checkpoint, so the
    // next run copies round 3's clusters again, with round 4's.
    const withCheckpoint = round !== 3;
    const verify = round === 5;
    const b = await backup(h, h.mnt, target, [...(withCheckpoint ? ['--checkpoint'] : []), ...(verify ? ['--verify'] : [])]);
    assert.equal(b.full, false, `round ${round}: ${b.fullReason}`);
    assert.equal(b.base, base, `round ${round}: base`);
    const expected = extentsOfClusters(pending, CS, SIZE);
    assert.equal(b.copiedBytes, bytesOf(pending, CS, SIZE), `round ${round}: copied exactly the clusters written since the base`);
    assert.equal(b.extents, expected.length, `round ${round}: extents`);
    if (verify) assert.ok((b.verified ?? 0) > 0, `--verify reports verified chunks: ${b.verified}`);
    else assert.equal(b.verified, null);
    await assertIdentical(h, h.volume, target, `round ${round}`);
    t.diagnostic(`dd round ${round}${withCheckpoint ? '' : ' (no checkpoint)'}: copied ${b.copiedBytes} of ${SIZE} bytes (${(100 * b.copiedBytes / SIZE).toFixed(3)}%)`);
    if (withCheckpoint) {
      assert.equal(b.targetAt, b.checkpoint);
      base = b.checkpoint!;
      pending = new Set();
    } else {
      assert.equal(b.checkpoint, null);
      assert.equal(b.targetAt, base, 'without --checkpoint the target stays at the latest checkpoint');
    }
    assert.equal((await readSidecar(target)).checkpointId, base);
  }
});

// ------------------------------------------------------------------------- kill -9 ----

async function killAndWaitGone(h: Harness, pid: number): Promise<void> {
  h.killDaemon(pid);
  await h.waitDaemonGone(pid);
  await h.waitMountGone();
}

for (const durability of ['strict', 'ordered'] as const) {
  test(`kill -9 of the daemon mid-epoch (${durability}), remount: incremental backups stay byte-identical`, { timeout: 90_000 }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    const SIZE = 64 * MiB;
    const CS = 64 * KiB;
    await h.createImage(SIZE);
    let pid = await h.mount({ clusterSize: '64K', durability });
    const target = join(h.dir, 'backup.img');
    await applyWrites(h, randomWrites(200, 10, SIZE));
    const full = await backup(h, h.mnt, target, ['--checkpoint']);
    assert.equal(full.full, true);

    // Mid-epoch: some acknowledged dd writes, then a writer running while the daemon is killed.
    const w1 = randomWrites(201, 10, SIZE);
    await applyWrites(h, w1);
    const writer = startLoopWriter(h, h.volume, CS, SIZE / CS, durability === 'strict' ? 31 : 32);
    await waitForWrites(writer, 150);
    h.killDaemon(pid);
    await h.waitDaemonGone(pid);
    await settleWithin(writer.exited, 2_000);
    if (writer.child.exitCode === null && writer.child.signalCode === null) writer.child.kill('SIGKILL');
    await withTimeout(writer.exited, 10_000, 'the writer to stop');
    t.diagnostic(`killed the daemon after ${writer.acknowledged.length} acknowledged loop writes; mount removed: ${await h.waitMountGone()}`);
    assert.equal((await h.status(h.journal)).journalState, 'active', 'the killed daemon left the journal active');

    pid = await h.mount();
    const s = await h.status();
    assert.equal(s.trusted, true, `trusted after a daemon crash (${s.reason ?? ''})`);
    assert.equal(s.latestCheckpoint, full.checkpoint, 'the checkpoint of the last backup survived the crash');
    await assertDiffer(h, h.volume, target, 'after the crash');
    const b1 = await backup(h, h.mnt, target, ['--checkpoint']);
    assert.equal(b1.full, false, String(b1.fullReason));
    assert.equal(b1.base, full.checkpoint);
    await assertIdentical(h, h.volume, target, 'first incremental after the crash and remount');
    // Every acknowledged write of the crashed epoch was in the copied set.
    const copied = clustersOfExtents((await changesSince(h, h.mnt, b1.base!)).extents, CS);
    const acked = union(clustersOfRanges(w1, CS), new Set(writer.acknowledged.map((o) => o / CS)));
    assert.deepEqual(sorted([...acked].filter((c) => !copied.has(c))), [], 'acknowledged clusters missing from the incremental');
    t.diagnostic(`incremental after kill -9 + remount: copied ${b1.copiedBytes} of ${SIZE} bytes`);

    // More writes, another incremental: exactly those clusters.
    const w2 = randomWrites(202, 8, SIZE);
    await applyWrites(h, w2);
    const b2 = await backup(h, h.mnt, target, ['--checkpoint']);
    assert.equal(b2.base, b1.checkpoint);
    assert.equal(b2.copiedBytes, bytesOf(clustersOfRanges(w2, CS), CS, SIZE));
    await assertIdentical(h, h.volume, target, 'second incremental after the crash');

    // kill -9 right after a backup's checkpoint: the checkpoint is durable, its number is not reused.
    await applyWrites(h, randomWrites(203, 5, SIZE));
    const b3 = await backup(h, h.mnt, target, ['--checkpoint']);
    await killAndWaitGone(h, pid);
    pid = await h.mount();
    assert.equal((await h.status())['latestCheckpoint'], b3.checkpoint, 'the checkpoint taken just before the kill survived it');
    const w4 = randomWrites(204, 6, SIZE);
    await applyWrites(h, w4);
    const next = await checkpoint(h, h.mnt);
    assert.equal(next, `${idGen(b3.checkpoint!)}:${idNumber(b3.checkpoint!) + 1}`, 'the next checkpoint number after the crash');
    const c4 = await changesSince(h, h.mnt, b3.checkpoint!);
    assert.deepEqual(sorted(clustersOfExtents(c4.extents, CS)), sorted(clustersOfRanges(w4, CS)), 'changes since the pre-crash checkpoint: exactly what was written after it');
    const b4 = await backup(h, h.mnt, target);
    assert.equal(b4.base, b3.checkpoint);
    assert.equal(b4.targetAt, next);
    assert.equal(b4.copiedBytes, bytesOf(clustersOfRanges(w4, CS), CS, SIZE));
    await assertIdentical(h, h.volume, target, 'incremental after a kill right after a checkpoint');
    await h.unmount();
  });
}

test('kill -9, then an offline backup of the crashed journal, then remount and a live one: identical each time', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 32 * MiB;
  const CS = 64 * KiB;
  await h.createImage(SIZE);
  const pid = await h.mount({ clusterSize: '64K' });
  const target = join(h.dir, 'backup.img');
  await applyWrites(h, randomWrites(300, 6, SIZE));
  const full = await backup(h, h.mnt, target, ['--checkpoint']);
  const w1 = randomWrites(301, 6, SIZE);
  await applyWrites(h, w1);
  await killAndWaitGone(h, pid);

  const off = await backup(h, h.image, target, ['--checkpoint']);
  assert.equal(off.full, false, String(off.fullReason));
  assert.equal(off.base, full.checkpoint);
  assert.equal(off.copiedBytes, bytesOf(clustersOfRanges(w1, CS), CS, SIZE));
  await assertIdentical(h, h.image, target, 'offline backup of a crashed journal');

  await h.mount();
  assert.equal((await h.status()).trusted, true);
  const w2 = randomWrites(302, 6, SIZE);
  await applyWrites(h, w2);
  const live = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(live.full, false, String(live.fullReason));
  assert.equal(live.base, off.checkpoint);
  assert.equal(live.copiedBytes, bytesOf(clustersOfRanges(w2, CS), CS, SIZE));
  await assertIdentical(h, h.volume, target, 'live backup after the offline one');
  t.diagnostic(`offline incremental after kill -9: ${off.copiedBytes} of ${SIZE} bytes; live one after remount: ${live.copiedBytes}`);
  await h.unmount();
});

// ------------------------------------------------------------ writes during backups ----

test('backups --checkpoint while two writers run: no write is missed at an epoch boundary; after they stop, the target is identical', { timeout: 90_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 64 * MiB;
  const CS = 64 * KiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const target = join(h.dir, 'backup.img');
  // Few clusters, so that the writers keep rewriting clusters of every epoch (each write has new data).
  const writers = [startLoopWriter(h, h.volume, CS, 96, 51), startLoopWriter(h, h.volume, CS, 96, 52, 64 * KiB)];
  const runs: BackupJson[] = [];
  try {
    await Promise.all(writers.map((w) => waitForWrites(w, 50)));
    for (let i = 0; i < 8; i++) {
      runs.push(await backup(h, h.mnt, target, ['--checkpoint']));
      const before = writers.map((w) => w.acknowledged.length);
      await waitFor('more writes', () => writers.every((w, j) => w.acknowledged.length > before[j]! + 20), 20_000, 5);
    }
  } finally {
    for (const w of writers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  }
  await withTimeout(Promise.all(writers.map((w) => w.exited)), 10_000, 'the writers to stop');
  for (const w of writers) assert.equal(w.failure, null, `writer failed: ${w.failure?.code}`);
  assert.ok(runs.slice(1).every((r, i) => !r.full && r.base === runs[i]!.checkpoint), 'every run after the first is incremental from the one before');
  const last = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(last.full, false);
  await assertIdentical(h, h.volume, target, 'after the writers stopped and one more incremental');
  t.diagnostic(`${runs.length + 1} backups while ${writers.reduce((n, w) => n + w.acknowledged.length, 0)} writes went on; incrementals copied ${runs.slice(1).map((r) => r.copiedBytes).join(', ')} then ${last.copiedBytes} bytes`);
});

// ------------------------------------------------------------------ two consumers ----

test('two consumers with interleaved bases from one mount: each target identical, changes --since each base exact', { timeout: 90_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 64 * MiB;
  const CS = 64 * KiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const A = join(h.dir, 'a.img');
  const B = join(h.dir, 'b.img');
  // S[k]: clusters written in step k, disjoint from every other step's.
  const S = disjointClusterSets(400, 6, 7, SIZE / CS);
  const write = (k: number) => applyWrites(h, clusterWrites(S[k]!, CS, 410 + k));
  const ids: Record<string, string> = {};

  const step = async (k: number, who: 'A' | 'B', target: string, expectCopied: Set<number> | null): Promise<BackupJson> => {
    await write(k);
    if (expectCopied) await assertDiffer(h, h.volume, target, `${who} before step ${k}`);
    const b = await backup(h, h.mnt, target, ['--checkpoint']);
    if (expectCopied === null) {
      assert.equal(b.full, true, `${who}'s first backup is full`);
    } else {
      assert.equal(b.full, false, `${who} step ${k}: ${b.fullReason}`);
      assert.deepEqual(b.copiedBytes, bytesOf(expectCopied, CS, SIZE), `${who} step ${k}: copied exactly the clusters written since its own base`);
    }
    await assertIdentical(h, h.volume, target, `${who} after step ${k}`);
    t.diagnostic(`consumer ${who}, step ${k}: base ${b.base ?? '(full)'} -> ${b.checkpoint}, copied ${b.copiedBytes} of ${SIZE} bytes`);
    return b;
  };

  const a1 = await step(0, 'A', A, null);
  const b1 = await step(1, 'B', B, null);
  await write(2);
  ids['other'] = await checkpoint(h, h.mnt); // a third party's checkpoint between them
  const a2 = await step(3, 'A', A, union(S[1]!, S[2]!, S[3]!));
  assert.equal(a2.base, a1.checkpoint);
  const b2 = await step(4, 'B', B, union(S[2]!, S[3]!, S[4]!));
  assert.equal(b2.base, b1.checkpoint);
  const a3 = await step(5, 'A', A, union(S[4]!, S[5]!));
  assert.equal(a3.base, a2.checkpoint);
  const nums = [a1, b1, a2, b2, a3].map((b) => idNumber(b.checkpoint!));
  assert.deepEqual(nums, [...nums].sort((x, y) => x - y), 'checkpoint numbers grow');
  assert.equal(new Set([a1, b1, a2, b2, a3].map((b) => idGen(b.checkpoint!))).size, 1, 'one generation');

  // changes --since each base: exactly the clusters written after it, none written only before.
  const after: [string, string, Set<number>][] = [
    ['A base 1', a1.checkpoint!, union(...S.slice(1))],
    ['B base 1', b1.checkpoint!, union(...S.slice(2))],
    ['third party', ids['other']!, union(...S.slice(3))],
    ['A base 2', a2.checkpoint!, union(...S.slice(4))],
    ['B base 2', b2.checkpoint!, S[5]!],
    ['A base 3', a3.checkpoint!, new Set()],
  ];
  for (const [what, id, expected] of after) {
    const c = await changesSince(h, h.mnt, id);
    assert.equal(c.since, id);
    assert.equal(c.trusted, true);
    const listed = clustersOfExtents(c.extents, CS);
    assert.deepEqual(sorted(listed), sorted(expected), `changes --since ${what} (${id})`);
  }
  // Spot checks by hand: a cluster of step 1 is in A's first base's list and not in B's.
  const s1 = sorted(S[1]!)[0]!;
  assert.ok(clustersOfExtents((await changesSince(h, h.mnt, a1.checkpoint!)).extents, CS).has(s1));
  assert.ok(!clustersOfExtents((await changesSince(h, h.mnt, b1.checkpoint!)).extents, CS).has(s1));

  // Both sidecars keep their own base; each next run goes on from there.
  assert.equal((await readSidecar(A)).checkpointId, a3.checkpoint);
  assert.equal((await readSidecar(B)).checkpointId, b2.checkpoint);
  const b3 = await backup(h, h.mnt, B, ['--checkpoint']);
  assert.equal(b3.base, b2.checkpoint);
  assert.equal(b3.copiedBytes, bytesOf(S[5]!, CS, SIZE));
  await assertIdentical(h, h.volume, B, 'B after catching up');
  await assertIdentical(h, A, B, 'A and B hold the same image');
});

// ------------------------------------------------------------------------- offline ----

test('offline: backup from image + journal; an image modified while unmounted is re-based and copied in full', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 48 * MiB;
  const CS = 64 * KiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const target = join(h.dir, 'backup.img');
  await applyWrites(h, randomWrites(500, 8, SIZE));
  const full = await backup(h, h.mnt, target, ['--checkpoint']);
  const w1 = randomWrites(501, 8, SIZE);
  await applyWrites(h, w1);

  // While mounted, the image cannot be backed up offline.
  const busy = await h.trackfs(['backup', h.image, target, '--json']);
  assert.equal(busy.code, 1, `offline backup of a mounted image: ${busy.stderr}`);
  assert.match(busy.stderr, /in use/);
  assert.equal(busy.stderr.trim().split('\n').length, 1);
  await h.unmount();

  // Offline, trusted: incremental.
  const off = await backup(h, h.image, target, ['--checkpoint']);
  assert.equal(off.full, false, String(off.fullReason));
  assert.equal(off.base, full.checkpoint);
  assert.equal(off.checkpoint, `${idGen(full.checkpoint!)}:${idNumber(full.checkpoint!) + 1}`);
  assert.equal(off.copiedBytes, bytesOf(clustersOfRanges(w1, CS), CS, SIZE));
  await assertIdentical(h, h.image, target, 'offline incremental');
  const st = await h.status(h.journal);
  assert.equal(st.trusted, true, 'an offline checkpoint leaves the journal trusted');
  assert.equal(st['latestCheckpoint'], off.checkpoint);

  // The image changed behind trackfs's back: untrusted; backup --checkpoint re-bases, copies all.
  await h.ddWriteOk(20 * MiB + 123, seededBytes(502, 5000), { path: h.image });
  const untrusted = await h.status(h.journal);
  assert.equal(untrusted.trusted, false);
  await assertDiffer(h, h.image, target, 'after modifying the image offline');
  const re = await backup(h, h.image, target, ['--checkpoint']);
  assert.equal(re.full, true, 're-based: full copy');
  assert.match(String(re.fullReason), /untrusted/);
  assert.match(String(re.fullReason), /re-based/);
  assert.equal(re.copiedBytes, SIZE);
  assert.notEqual(idGen(re.checkpoint!), idGen(off.checkpoint!), 'a new generation');
  assert.equal(idNumber(re.checkpoint!), 0, 'the re-based history starts at checkpoint 0');
  await assertIdentical(h, h.image, target, 'full copy after the re-base');
  const after = await h.status(h.journal);
  assert.equal(after.trusted, true, 'the re-based journal is trusted');
  assert.ok(String(after['generation']).startsWith(idGen(re.checkpoint!)));
  t.diagnostic(`offline incremental: ${off.copiedBytes} of ${SIZE} bytes; after the image was modified offline: ${re.copiedBytes} (full, re-based)`);

  // The next runs are incremental again, offline and live.
  const again = await backup(h, h.image, target, ['--checkpoint']);
  assert.equal(again.full, false);
  assert.equal(again.base, re.checkpoint);
  assert.equal(again.copiedBytes, 0);
  await h.mount();
  const w3 = randomWrites(503, 6, SIZE);
  await applyWrites(h, w3);
  const live = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(live.full, false, String(live.fullReason));
  assert.equal(live.base, again.checkpoint);
  assert.equal(live.copiedBytes, bytesOf(clustersOfRanges(w3, CS), CS, SIZE));
  await assertIdentical(h, h.volume, target, 'live incremental after the offline re-base');
  await h.unmount();
});

// -------------------------------------------------------------------- interrupted ----

test('interrupted backup (sidecar left in-progress, target partly overwritten): the next run redoes it from its base', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 64 * MiB;
  const CS = 64 * KiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const target = join(h.dir, 'backup.img');
  const sidecarPath = `${target}.trackfs-backup`;
  const S = disjointClusterSets(600, 4, 9, SIZE / CS);
  await applyWrites(h, clusterWrites(S[0]!, CS, 610));
  await backup(h, h.mnt, target, ['--checkpoint']);
  await applyWrites(h, clusterWrites(S[1]!, CS, 611));
  const done = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(done.full, false);

  // A run from `done` that died while copying: its checkpoint was taken, its clusters (S[2]) were
  // being copied, and writes went on meanwhile (S[3]).
  await applyWrites(h, clusterWrites(S[2]!, CS, 612));
  const died = await checkpoint(h, h.mnt);
  await applyWrites(h, clusterWrites(S[3]!, CS, 613));
  const sc = await readSidecar(target);
  assert.equal(sc.state, 'complete');
  assert.equal(sc.checkpointId, done.checkpoint);
  await writeFile(sidecarPath, JSON.stringify({ ...sc, state: 'in-progress', running: { startedAt: new Date().toISOString(), base: done.checkpoint, to: died, full: false } }, null, 2));
  // Half of its clusters copied, one torn, the rest old.
  const s2 = sorted(S[2]!);
  for (const c of s2.slice(0, 4)) await writeRange(target, c * CS, seededBytes(620 + c, CS));
  await writeRange(target, s2[4]! * CS, seededBytes(699, CS / 3));
  await assertDiffer(h, h.volume, target, 'interrupted target');

  const redo = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(redo.redo, true, 'the run says it redoes an interrupted one');
  assert.equal(redo.full, false, String(redo.fullReason));
  assert.equal(redo.base, done.checkpoint, 'redone from the interrupted run\'s base');
  assert.equal(redo.copiedBytes, bytesOf(union(S[2]!, S[3]!), CS, SIZE));
  assert.ok(idNumber(redo.checkpoint!) > idNumber(died));
  await assertIdentical(h, h.volume, target, 'after the redo');
  const after = await readSidecar(target);
  assert.equal(after.state, 'complete');
  assert.equal(after.running, undefined);
  assert.equal(after.checkpointId, redo.checkpoint);

  // Without the in-progress mark the same damage would stay: the sidecar is what makes it safe.
  // An interrupted full copy (base null) is redone in full.
  const sc2 = await readSidecar(target);
  await writeFile(sidecarPath, JSON.stringify({ ...sc2, state: 'in-progress', running: { startedAt: new Date().toISOString(), base: null, to: null, full: true } }, null, 2));
  await writeRange(target, 40 * MiB, seededBytes(698, 3 * CS));
  await assertDiffer(h, h.volume, target, 'interrupted full copy');
  const redoFull = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(redoFull.redo, true);
  assert.equal(redoFull.full, true);
  assert.match(String(redoFull.fullReason), /interrupted/);
  assert.equal(redoFull.copiedBytes, SIZE);
  await assertIdentical(h, h.volume, target, 'after redoing the full copy');
  t.diagnostic(`redo of an interrupted incremental: copied ${redo.copiedBytes} of ${SIZE} bytes; of an interrupted full copy: ${redoFull.copiedBytes}`);
});

test('an interrupted re-basing backup (untrusted journal, full copy cut short) is redone in full by the next run', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 32 * MiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const target = join(h.dir, 'backup.img');
  const sidecarPath = `${target}.trackfs-backup`;
  await applyWrites(h, randomWrites(800, 6, SIZE));
  const first = await backup(h, h.mnt, target, ['--checkpoint']);
  await h.unmount();
  // Modified while unmounted: untrusted. A `backup --checkpoint` re-bases the journal, then starts
  // its full copy and dies: the state it leaves is the journal re-based and the sidecar, still of
  // the old history, in-progress with a full run from no base (what SIGINT leaves, see below).
  await h.ddWriteOk(9 * MiB + 77, seededBytes(801, 3000), { path: h.image });
  const rebased = await h.trackfsOk(['checkpoint', h.journal, '--json']);
  const cp = JSON.parse(rebased.stdout) as CheckpointOutcome;
  assert.equal(cp.rebased, true);
  const sc = await readSidecar(target);
  assert.equal(sc.checkpointId, first.checkpoint);
  await writeFile(sidecarPath, JSON.stringify({ ...sc, state: 'in-progress', running: { startedAt: new Date().toISOString(), base: null, to: cp.id, full: true } }, null, 2));
  await writeRange(target, 0, seededBytes(802, 3 * 64 * KiB)); // the copy had begun
  await assertDiffer(h, h.image, target, 'interrupted re-basing copy');

  // The interrupted run was a full copy: redoing it needs no base, so no history in common.
  const r = await h.trackfs(['backup', h.image, target, '--checkpoint', '--json', '--no-progress'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `the run after an interrupted full copy redoes it (exit ${r.code}: ${r.stderr.trim()})`);
  const redo = JSON.parse(r.stdout) as BackupJson;
  assert.equal(redo.redo, true);
  assert.equal(redo.full, true);
  await assertIdentical(h, h.image, target, 'after redoing the interrupted re-basing copy');
  assert.equal((await readSidecar(target)).generation.slice(0, 12), idGen(redo.checkpoint!));
});

test('a backup killed by SIGINT mid-copy exits 130, leaves the sidecar in-progress, and the next run redoes it', { timeout: 90_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const SIZE = 64 * MiB;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '1M' });
  const target = join(h.dir, 'backup.img');
  const sidecarPath = `${target}.trackfs-backup`;
  await applyWrites(h, randomWrites(700, 10, SIZE));

  // The copy holds after its first chunk until `hold` exists (a test hook): SIGINT lands mid-copy
  // on any machine, however fast.
  const hold = join(h.dir, 'hold-copy');
  const child = h.spawnChild([BIN, 'backup', h.mnt, target, '--checkpoint', '--no-progress'], { TRACKFS_TEST_HOOKS: '1', TRACKFS_TEST_HOLD_COPY: hold });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor('the backup to hold in the middle of its copy', () => existsSync(`${hold}.waiting`), 30_000, 10);
  assert.match(await readFile(sidecarPath, 'utf8'), /"in-progress"/, 'the sidecar is marked in-progress before the copy');
  child.kill('SIGINT');
  const code = await withTimeout(exited, 20_000, 'the backup to exit on SIGINT');
  assert.equal(code, 130, `exit code after SIGINT (stderr: ${stderr})`);
  assert.match(stderr, /interrupted/);
  const sc = await readSidecar(target);
  assert.equal(sc.state, 'in-progress');
  assert.equal(sc.running?.base, null);
  assert.equal(sc.running?.full, true);

  const redo = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(redo.redo, true);
  assert.equal(redo.full, true);
  await assertIdentical(h, h.volume, target, 'after redoing the interrupted copy');
  assert.equal((await readSidecar(target)).state, 'complete');
  // And the one after is a normal incremental.
  const w = randomWrites(701, 4, SIZE);
  await applyWrites(h, w);
  const inc = await backup(h, h.mnt, target, ['--checkpoint']);
  assert.equal(inc.redo, false);
  assert.equal(inc.full, false);
  assert.equal(inc.base, redo.checkpoint);
  assert.equal(inc.copiedBytes, bytesOf(clustersOfRanges(w, MiB), MiB, SIZE));
  await assertIdentical(h, h.volume, target, 'incremental after the redo');
});
