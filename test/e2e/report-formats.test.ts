/**
 * `changes --format bmap|qemu-map`, `--granularity` and `--since A --until B` against what was
 * really written to a mounted volume. The bmap is proven with the real bmaptool: an older copy of
 * the volume on a loop device is brought up to date with it and then equals the volume byte for
 * byte (bmaptool verifies every range's SHA-256 as it copies).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  clustersOfExtents, clustersOfRanges, e2e, extentsOfClusters, sha256File, TEST_TIMEOUT_MS, type ChangesJson, type Harness,
} from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 16 * MiB;
const CLUSTER = 4 * KiB;

type Range = { offset: number; length: number };

/** Writes random bytes at each range through the volume (another process: dd). */
async function writeAll(h: Harness, ranges: Range[]): Promise<void> {
  for (const r of ranges) await h.ddWriteOk(r.offset, randomBytes(r.length));
}

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

async function mounted(t: TestContext): Promise<Harness | null> {
  const h = await e2e(t);
  if (!h) return null;
  await h.createImage(IMAGE_SIZE, [{ offset: 0, data: randomBytes(2 * MiB) }]);
  // Exact marking: no cluster is listed that was not written.
  await h.mount({ clusterSize: '4K', extra: ['--mark-ahead', '0'] });
  return h;
}

const FIRST: Range[] = [{ offset: 0, length: 8 * KiB }, { offset: 5 * MiB + 100, length: 10 }];
const SECOND: Range[] = [{ offset: 4 * KiB, length: 100 }, { offset: 3 * MiB - 10, length: 20 }, { offset: IMAGE_SIZE - 1, length: 1 }];
const THIRD: Range[] = [{ offset: 9 * MiB, length: 64 * KiB }];

test('bmaptool copy with the bmap of changes since A brings a stale copy up to date', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!have('bmaptool') || !have('losetup')) {
    t.skip('needs bmaptool (apt-get install bmap-tools) and losetup');
    return;
  }
  const h = await mounted(t);
  if (!h) return;
  await writeAll(h, FIRST);
  const since = (await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim();
  const stale = join(h.dir, 'stale.raw');
  await copyFile(h.volume, stale);
  await writeAll(h, [...SECOND, ...THIRD]);

  const bmap = join(h.dir, 'changes.bmap');
  const text = (await h.trackfsOk(['changes', h.mnt, '--since', since, '--format', 'bmap'])).stdout;
  await writeFile(bmap, text);
  // The ranges are exactly the clusters written after the checkpoint.
  const listed = new Set<number>();
  for (const m of text.matchAll(/<Range chksum="[0-9a-f]{64}"> (\d+)(?:-(\d+))? <\/Range>/g)) {
    for (let b = Number(m[1]); b <= Number(m[2] ?? m[1]); b++) listed.add(b);
  }
  assert.deepEqual([...listed].sort((a, b) => a - b), [...clustersOfRanges([...SECOND, ...THIRD], CLUSTER)].sort((a, b) => a - b));

  const loop = spawnSync('losetup', ['-f', '--show', '--', stale], { encoding: 'utf8' });
  assert.equal(loop.status, 0, `losetup: ${loop.stderr}`);
  const device = loop.stdout.trim();
  h.onCleanup(() => { spawnSync('losetup', ['-d', device]); });
  assert.notEqual(await sha256File(device), await sha256File(h.volume), 'the copy is stale before bmaptool runs');
  const copy = spawnSync('bmaptool', ['copy', '--bmap', bmap, h.volume, device], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(copy.status, 0, `bmaptool copy: ${copy.stderr}`);
  assert.equal(await sha256File(device), await sha256File(h.volume), 'the copy equals the volume');

  // Offline, the ranges are read from the image: the same bmap, checksums included.
  await h.unmount();
  const offline = (await h.trackfsOk(['changes', h.journal, '--since', since, '--format', 'bmap'])).stdout;
  const body = (s: string) => s.slice(s.indexOf('<BlockMap>'));
  assert.equal(body(offline), body(text));
});

test('qemu-map, --granularity and --since/--until list what was written', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await mounted(t);
  if (!h) return;
  await writeAll(h, FIRST);
  const a = (await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim();
  await writeAll(h, SECOND);
  const b = (await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim();
  const secondClusters = [...clustersOfRanges(SECOND, CLUSTER)].sort((x, y) => x - y);

  // B is the latest checkpoint: between A and B is exactly the second batch of writes.
  const between = JSON.parse((await h.trackfsOk(['changes', h.mnt, '--since', a, '--until', b, '--json'])).stdout) as ChangesJson;
  assert.deepEqual(between.extents, extentsOfClusters(secondClusters, CLUSTER, IMAGE_SIZE));
  await writeAll(h, THIRD);
  // Writes after B never hide what changed before it (they may add uncertain clusters).
  const later = JSON.parse((await h.trackfsOk(['changes', h.mnt, '--since', a, '--until', b, '--json'])).stdout) as ChangesJson;
  const laterClusters = clustersOfExtents(later.extents, CLUSTER);
  for (const c of secondClusters) assert.ok(laterClusters.has(c), `cluster ${c} written between A and B is listed`);
  const third = clustersOfRanges(THIRD, CLUSTER);
  for (const c of laterClusters) assert.ok(secondClusters.includes(c) || third.has(c), `cluster ${c} was never written after A`);

  // qemu-map: the whole image in order; the data ranges are the changes since A.
  const all = clustersOfRanges([...SECOND, ...THIRD], CLUSTER);
  const map = JSON.parse((await h.trackfsOk(['changes', h.mnt, '--since', a, '--format', 'qemu-map'])).stdout) as
    { start: number; length: number; data: boolean; present: boolean; zero: boolean; offset?: number }[];
  let at = 0;
  for (const e of map) {
    assert.equal(e.start, at, 'contiguous');
    assert.equal(e.present, e.data);
    assert.equal(e.zero, false);
    if (e.data) assert.equal(e.offset, e.start);
    at += e.length;
  }
  assert.equal(at, IMAGE_SIZE, 'covers the image');
  const data = map.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length }));
  assert.deepEqual(data, extentsOfClusters(all, CLUSTER, IMAGE_SIZE));

  // --granularity 1M: each written MiB once, whole, merged with its neighbours.
  const coarse = JSON.parse((await h.trackfsOk(['changes', h.mnt, '--since', a, '--granularity', '1M', '--json'])).stdout) as
    ChangesJson & { granularity: number };
  assert.equal(coarse.granularity, MiB);
  const mibs = new Set([...all].map((c) => Math.floor((c * CLUSTER) / MiB)));
  assert.deepEqual(coarse.extents, extentsOfClusters(mibs, MiB, IMAGE_SIZE));
  assert.equal(coarse.changedBytes, mibs.size * MiB);
});
