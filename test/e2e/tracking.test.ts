/**
 * End to end: writes through a real mount are listed by `changes`, exactly by cluster; reads mark
 * nothing; the data written through the mount lands in the image byte for byte; the changes
 * survive an unmount, read offline from the journal and after a remount.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, stat } from 'node:fs/promises';
import {
  clustersOfRanges,
  e2e,
  extentsOfClusters,
  readRange,
  sha256File,
  TEST_TIMEOUT_MS,
  writeRange,
  type ChangesJson,
} from './harness.js';
import { mulberry32, seededBytes, type WriteSpec } from './prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function assertChanges(r: ChangesJson, clusters: Set<number>, clusterSize: number, imageSize: number, what: string): void {
  assert.equal(r.trusted, true, `${what}: trusted`);
  assert.equal(r.clusterSize, clusterSize, `${what}: cluster size`);
  assert.equal(r.imageSize, imageSize, `${what}: image size`);
  assert.equal(r.totalClusters, Math.ceil(imageSize / clusterSize), `${what}: total clusters`);
  const extents = extentsOfClusters(clusters, clusterSize, imageSize);
  assert.deepEqual(r.extents, extents, `${what}: extents`);
  assert.equal(r.changedClusters, clusters.size, `${what}: changed clusters`);
  assert.equal(r.changedBytes, extents.reduce((n, e) => n + e.length, 0), `${what}: changed bytes`);
}

// Not a multiple of any cluster size: the last cluster is partial and its extent must stop at
// the end of the image.
const IMAGE_SIZE = 24 * MiB + 1536;

for (const [label, clusterSize] of [['4K', 4 * KiB], ['64K', 64 * KiB], ['1M', MiB]] as const) {
  test(`changes lists exactly the written clusters, cluster size ${label}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    await h.createImage(IMAGE_SIZE);
    await h.mount({ clusterSize: label });

    // Reads, buffered and direct, mark nothing.
    await h.ddReadAll();
    await h.ddReadAll({ direct: true, bs: '128K' });
    assertChanges(await h.changes(), new Set(), clusterSize, IMAGE_SIZE, 'after reads only');

    const cs = clusterSize;
    // Laid out so that no write hides another's edge case at any of the three cluster sizes.
    const writes: { name: string; offset: number; length: number; direct: boolean }[] = [
      { name: '1-byte', offset: 1 * cs + 17, length: 1, direct: true },
      { name: '1-byte buffered, last byte of a cluster', offset: 2 * cs + cs - 1, length: 1, direct: false },
      { name: 'straddling a cluster boundary', offset: 4 * cs - 100, length: 200, direct: true },
      { name: 'ending on the last byte of a cluster', offset: 6 * cs + 100, length: cs - 100, direct: true },
      { name: 'ending on the first byte of a cluster', offset: 8 * cs - 10, length: 11, direct: true },
      { name: '128 KiB + 4 KiB, cluster-aligned', offset: 10 * cs, length: 132 * KiB, direct: true },
      { name: '1 MiB + 5, unaligned', offset: 12 * MiB + 333, length: MiB + 5, direct: true },
      { name: '300 KiB buffered, unaligned', offset: 17 * MiB + 12345, length: 300 * KiB, direct: false },
      { name: 'last bytes of the image (last, partial cluster)', offset: IMAGE_SIZE - 7, length: 7, direct: true },
    ];
    const expected = new Set<number>();
    for (const [i, w] of writes.entries()) {
      const data = seededBytes(1000 + i, w.length);
      await h.ddWriteOk(w.offset, data, { direct: w.direct });
      for (const c of clustersOfRanges([w], cs)) expected.add(c);
      assertChanges(await h.changes(), expected, cs, IMAGE_SIZE, `after the ${w.name} write`);
      // The data went to the image (read directly, not through the mount).
      assert.ok((await readRange(h.image, w.offset, w.length)).equals(data), `image holds the ${w.name} write`);
    }
    assert.ok(expected.has(Math.ceil(IMAGE_SIZE / cs) - 1), 'the last cluster was written');

    // Reading everything back through the mount changes nothing.
    await h.ddReadAll();
    await h.ddReadAll({ direct: true, bs: '1M' });
    const last = writes[writes.length - 1]!;
    assert.ok((await h.ddReadRange(last.offset, last.length)).equals(seededBytes(1000 + writes.length - 1, last.length)), 'read back through the mount');
    assertChanges(await h.changes(), expected, cs, IMAGE_SIZE, 'after reading back');

    await h.unmount();
    assertChanges(await h.changes(h.journal), expected, cs, IMAGE_SIZE, 'offline, after unmount');
  });
}

test('random writes through the mount reach the image byte for byte and are all listed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 32 * MiB + 4 * KiB;
  const cs = 16 * KiB;
  // Some non-zero content first, so a misplaced write cannot hide among zeros.
  await h.createImage(size, [
    { offset: 0, data: seededBytes(1, 4 * MiB) },
    { offset: 20 * MiB + 100, data: seededBytes(2, 3 * MiB) },
  ]);
  const copy = `${h.image}.copy`;
  await copyFile(h.image, copy);

  const rng = mulberry32(42);
  const writes: WriteSpec[] = [];
  for (let i = 0; i < 80; i++) {
    const offset = Math.floor(rng() * size);
    const big = rng() < 0.3;
    let length = 1 + Math.floor(rng() * (big ? 400 * KiB : 9000));
    // Some writes end exactly on the last byte of a cluster, some on the first byte of the next.
    const snap = rng();
    if (snap < 0.3) length += cs - ((offset + length) % cs) + (snap < 0.15 ? 0 : 1);
    length = Math.min(size - offset, length);
    writes.push({ offset, length, seed: 5000 + i });
  }
  writes.push({ offset: size - 3, length: 3, seed: 9999 });
  const spec = await h.scratchFile('writes.json', JSON.stringify(writes));

  await h.mount({ clusterSize: '16K' });
  const r = await h.runChildWriter(['apply', h.volume, spec]);
  assert.equal(r.code, 0, `child writer failed: ${r.stderr}`);
  assert.match(r.stdout, /^done 81$/m);

  // The same writes, in the same order, straight to the copy.
  for (const w of writes) await writeRange(copy, w.offset, seededBytes(w.seed, w.length));

  const expected = clustersOfRanges(writes, cs);
  assertChanges(await h.changes(), expected, cs, size, 'live mount');
  await h.unmount();

  assert.equal(await sha256File(h.image), await sha256File(copy), 'image equals the copy with the same writes applied');
  assertChanges(await h.changes(h.journal), expected, cs, size, 'offline journal after unmount');
  const offline = await h.status(h.journal);
  assert.equal(offline.journalState, 'clean');

  await h.mount();
  assertChanges(await h.changes(), expected, cs, size, 'after remount');
  const s = await h.status();
  assert.equal(s.trusted, true);
  await h.unmount();
  assert.equal(await sha256File(h.image), await sha256File(copy), 'remount and unmount left the image alone');
});

test('writes at and across the end of the image: cut short, only the last cluster listed, size unchanged', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const size = 4 * MiB + 2048;
  const cs = 4 * KiB;
  await h.createImage(size);
  await h.mount({ clusterSize: '4K' });

  // Entirely past the end: nothing is written, nothing is marked.
  const past = await h.io([`write:${size}:4096:1`], { flags: ['direct'] });
  assert.equal(past.errno, 'ENOSPC', 'a write at the end of the volume fails with ENOSPC');
  assert.deepEqual(past.bytes, [0], 'and writes nothing');
  assertChanges(await h.changes(), new Set(), cs, size, 'after a write past the end');

  // Across the end: the part inside the volume is written, like a device.
  const data = seededBytes(2, 8192);
  const across = await h.io([`write:${size - 1000}:8192:2`], { flags: ['direct'] });
  assert.deepEqual([across.errno, across.bytes], ['ENOSPC', [1000]], 'cut short at the end, then ENOSPC');
  assert.ok((await readRange(h.image, size - 1000, 1000)).equals(data.subarray(0, 1000)), 'the part inside the image was written');
  assertChanges(await h.changes(), new Set([Math.ceil(size / cs) - 1]), cs, size, 'after a write across the end');

  await h.unmount();
  assert.equal((await stat(h.image)).size, size, 'the image did not grow');
});
