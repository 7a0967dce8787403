/**
 * The volume served by whichever data path this run uses (the native module by default; the
 * JavaScript path with TRACKFS_DATA_PATH=javascript, as the test command runs every end-to-end
 * suite a second time):
 *  - a random mix of reads, rewrites, first touches, checkpoints and eject/resume cycles, with
 *    the image compared to a model after every step and every cluster written since each
 *    checkpoint listed since it;
 *  - a read after resume of an image changed while ejected returns the new bytes (the kernel's
 *    cached pages are dropped);
 *  - status says which path serves and what each served.
 * All I/O on the mount is done by child processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clustersOfExtents, e2e, writeRange, type Harness } from './harness.js';
import { mulberry32, seededBytes } from './prng.js';
import type { IoOp, IoResult } from './native-io.js';
import type { MountStatus } from '../../src/control/protocol.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CS = 64 * KiB;
const SIZE = 8 * MiB;
const NATIVE_IO = fileURLToPath(new URL('./native-io.js', import.meta.url));
const nativeWanted = process.env['TRACKFS_DATA_PATH'] !== 'javascript';

/** Runs `ops` on the volume from a child process (O_DIRECT: every request reaches the daemon). */
async function io(h: Harness, ops: IoOp[]): Promise<IoResult[]> {
  const file = await h.scratchFile(`ops-${Date.now()}-${Math.random()}.json`, JSON.stringify(ops));
  const r = await h.run(process.execPath, [NATIVE_IO, h.volume, file], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `native-io: ${r.stderr}`);
  return JSON.parse(r.stdout) as IoResult[];
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function statusOf(h: Harness): Promise<MountStatus> {
  return (await h.status()) as unknown as MountStatus;
}

test('random reads, rewrites, first touches, checkpoints, eject/resume: the image matches a model after every step; every cluster written since each checkpoint is listed since it', { timeout: 300_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  const model = Buffer.alloc(SIZE);
  const written = new Set<number>();
  /** Per checkpoint id: the clusters written after it. */
  const since = new Map<string, Set<number>>();
  const rng = mulberry32(20261201);
  const counts: Record<string, number> = {};
  const STEPS = 60;
  for (let step = 0; step < STEPS; step++) {
    const r = rng();
    const kind = r < 0.35 ? 'rewrite' : r < 0.55 ? 'first' : r < 0.8 ? 'read' : r < 0.92 ? 'checkpoint' : 'eject-resume';
    counts[kind] = (counts[kind] ?? 0) + 1;
    if (kind === 'rewrite' || kind === 'first') {
      const pool = kind === 'rewrite' && written.size > 0 ? [...written] : [...Array(SIZE / CS).keys()].filter((c) => !written.has(c));
      const cluster = pool[Math.floor(rng() * pool.length)]!;
      // A rewrite stays inside its cluster (4 to 64 KiB); a first touch may run into the next one.
      const length = 4 * KiB * (1 + Math.floor(rng() * (kind === 'rewrite' ? 16 : 32)));
      const start = kind === 'rewrite' ? 4 * KiB * Math.floor(rng() * (1 + (CS - length) / (4 * KiB))) : 4 * KiB * Math.floor(rng() * 16);
      const offset = Math.min(cluster * CS + start, SIZE - length);
      const seed = 1000 + step;
      const [res] = await io(h, [{ kind: 'write', offset, length, seed }]);
      assert.deepEqual(res, { n: length }, `step ${step}: write of ${length} at ${offset}`);
      seededBytes(seed, length).copy(model, offset);
      for (let c = Math.floor(offset / CS); c <= Math.floor((offset + length - 1) / CS); c++) {
        written.add(c);
        for (const set of since.values()) set.add(c);
      }
    } else if (kind === 'read') {
      const length = 4 * KiB * (1 + Math.floor(rng() * 32));
      const offset = 4 * KiB * Math.floor(rng() * ((SIZE - length) / (4 * KiB)));
      const [res] = await io(h, [{ kind: 'read', offset, length }]);
      assert.deepEqual(res, { n: length, sha256: sha(model.subarray(offset, offset + length)) }, `step ${step}: read of ${length} at ${offset}`);
    } else if (kind === 'checkpoint') {
      const id = (await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim();
      since.set(id, new Set());
    } else {
      await h.trackfsOk(['eject', h.mnt]);
      await h.trackfsOk(['resume', h.mnt]);
    }
    // After every step: the whole image as read through the mount is the model ...
    const [whole] = await io(h, [{ kind: 'read', offset: 0, length: SIZE }]);
    assert.deepEqual(whole, { n: SIZE, sha256: sha(model) }, `step ${step} (${kind}): the volume differs from the model`);
    // ... and every checkpoint lists at least what was written after it (each few steps: a
    // `changes` per checkpoint costs a process each).
    if (step % 5 !== 4 && step !== STEPS - 1) continue;
    await Promise.all([...since].map(async ([id, set]) => {
      const r2 = await h.trackfsOk(['changes', h.mnt, '--since', id, '--json']);
      const listed = clustersOfExtents((JSON.parse(r2.stdout) as { extents: { offset: number; length: number }[] }).extents, CS);
      for (const c of set) assert.ok(listed.has(c), `step ${step}: cluster ${c}, written after checkpoint ${id}, is not listed since it`);
    }));
  }
  const s = await statusOf(h);
  const dp = s.dataPath!;
  t.diagnostic(`${STEPS} steps (${JSON.stringify(counts)}); data path ${dp.path}${dp.native ? `: native ${dp.native.reads} reads, ${dp.native.writes} writes; forwarded ${dp.native.forwardedReads} reads, ${dp.native.forwardedWrites} writes` : ` (${dp.reason})`}; javascript ${dp.javascript.reads} reads, ${dp.javascript.writes} writes`);
  if (nativeWanted && dp.native) {
    assert.equal(dp.path, 'native');
    assert.ok(dp.native.reads > 0 && dp.native.writes > 0, 'the native path served reads and rewrites');
    assert.ok(dp.native.forwardedWrites > 0, 'first touches went to JavaScript');
  }
  await h.unmount();
});

test('a read after resume of an image changed while ejected returns the new bytes, not cached ones', { timeout: 60_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(SIZE, [{ offset: 3 * CS, data: seededBytes(1, 4096) }]);
  await h.mount({ clusterSize: '64K' });
  const out = join(h.dir, 'read.bin');
  // Buffered reads (no O_DIRECT): the kernel caches the page.
  const before = await h.dd([`if=${h.volume}`, `of=${out}`, 'bs=4096', 'count=1', `skip=${(3 * CS) / 4096}`]);
  assert.equal(before.code, 0, before.stderr);
  const again = await h.dd([`if=${h.volume}`, `of=${out}`, 'bs=4096', 'count=1', `skip=${(3 * CS) / 4096}`]);
  assert.equal(again.code, 0);
  await h.trackfsOk(['eject', h.mnt]);
  const changed = seededBytes(2, 4096);
  await writeRange(h.image, 3 * CS, changed);
  const resumed = JSON.parse((await h.trackfsOk(['resume', h.mnt, '--json'])).stdout) as { trusted: boolean; reason?: string };
  assert.equal(resumed.trusted, false, 'the image changed while ejected: the journal says so');
  const after = await h.ddReadRange(3 * CS, 4096);
  assert.ok(after.equals(changed), 'the read after resume returned what the image held before the change');
  t.diagnostic(`after resume: ${resumed.reason}`);
  await h.unmount();
});

test('status says which data path serves, and what each path served', { timeout: 60_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(SIZE);
  await h.mount({ clusterSize: '64K' });
  await io(h, [{ kind: 'write', offset: 0, length: 4096, seed: 1 }, { kind: 'write', offset: 0, length: 4096, seed: 2 }, { kind: 'read', offset: 0, length: 4096 }]);
  const s = await statusOf(h);
  assert.ok(s.dataPath, 'status has a dataPath');
  const text = (await h.trackfsOk(['status', h.mnt])).stdout;
  assert.match(text, /^data path +(native|javascript)/m);
  if (!nativeWanted) {
    assert.equal(s.dataPath.path, 'javascript');
    assert.match(s.dataPath.reason ?? '', /TRACKFS_DATA_PATH=javascript/);
    assert.equal(s.dataPath.javascript.writes, 2);
  } else if (s.dataPath.native) {
    assert.equal(s.dataPath.path, 'native');
    assert.equal(s.dataPath.native.writes, 1, 'the rewrite was served natively');
    assert.equal(s.dataPath.native.forwardedWrites, 1, 'the first touch went to JavaScript');
    assert.equal(s.dataPath.javascript.writes, 1);
  }
  t.diagnostic(text.split('\n').find((l) => l.startsWith('data path')) ?? '');
  await h.unmount();
});

