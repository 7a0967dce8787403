/**
 * `trackfs run` end to end: what it reports is what COMMAND really wrote to the image (the bytes
 * are in the image afterwards, nothing else changed), and COMMAND's exit status is trackfs's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clustersOfRanges, e2e, extentsOfClusters, TEST_TIMEOUT_MS, type ChangesJson } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 16 * MiB;
const CLUSTER = 4 * KiB;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('run: the changes it prints are the bytes COMMAND wrote, and nothing else changed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  const before = randomBytes(IMAGE_SIZE);
  await h.createImage(IMAGE_SIZE, [{ offset: 0, data: before }]);
  const writes = [{ offset: 12345, length: 7000 }, { offset: 9 * MiB, length: 1 }, { offset: IMAGE_SIZE - 100, length: 100 }];
  const data = writes.map((w) => randomBytes(w.length));
  await Promise.all(data.map((d, i) => writeFile(join(h.dir, `data${i}`), d)));
  // COMMAND writes through $TRACKFS_VOLUME (a shell, asked for with sh -c: trackfs runs none).
  const script = writes.map((w, i) => `dd if="$0/data${i}" of="$TRACKFS_VOLUME" bs=1 seek=${w.offset} conv=notrunc status=none`)
    .join(' && ');
  const command = ['sh', '-c', `${script} && exit 5`, h.dir];
  const options = ['--json', '--cluster-size', '4K', '--mark-ahead', '0'];
  const r = await h.trackfs(['run', h.image, ...options, '--', ...command], { env: { TMPDIR: h.dir } });
  assert.equal(r.code, 5, `exit status is COMMAND's: ${r.stderr}`);
  const list = JSON.parse(r.stdout) as ChangesJson;
  assert.deepEqual(list.extents, extentsOfClusters(clustersOfRanges(writes, CLUSTER), CLUSTER, IMAGE_SIZE));
  assert.equal(list.trusted, true);

  const after = await readFile(h.image);
  const expected = Buffer.from(before);
  writes.forEach((w, i) => data[i]!.copy(expected, w.offset));
  assert.equal(sha(after), sha(expected), 'the image holds exactly what COMMAND wrote');
  // Unmounted, and the private directory removed (only the test's own files are left).
  assert.deepEqual((await readdir(h.dir)).filter((n) => n.startsWith('trackfs-run-')), []);
  const journal = await h.status(h.journal);
  assert.equal(journal.journalState, 'clean');
});
