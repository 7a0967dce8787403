/**
 * Checkpoints under load: writers keep writing from other processes while backups take
 * checkpoints and copy. A write that straddled a checkpoint (recorded in the old epoch, landed
 * after the copy read its cluster) would be lost from every later incremental; the final backup
 * after the writers stop must still equal the volume byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { e2e, settleWithin, TEST_TIMEOUT_MS, waitFor, withTimeout } from './harness.js';
import { startLoopWriter } from './writer.js';
import type { BackupJson } from './backup-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 64 * MiB;
const CLUSTER_SIZE = 4 * KiB;
const CLUSTERS = IMAGE_SIZE / CLUSTER_SIZE;

test('backups with checkpoints while writers run: the last one equals the volume', { timeout: TEST_TIMEOUT_MS * 2 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(IMAGE_SIZE);
  await h.mount({ clusterSize: '4K' });
  const target = join(h.dir, 'backup.raw');

  const writers = [11, 12].map((seed) => startLoopWriter(h, h.volume, CLUSTER_SIZE, CLUSTERS, seed, CLUSTER_SIZE));
  const acked = () => writers.reduce((n, w) => n + w.acknowledged.length, 0);

  const ids: string[] = [];
  let previousAcked = 0;
  for (let round = 0; round < 6; round++) {
    // Let the writers get somewhere new before each backup.
    await waitFor(`writes before backup ${round}`, () => acked() >= previousAcked + 300, 30_000, 10);
    previousAcked = acked();
    const r = await h.trackfsOk(['backup', h.mnt, target, '--checkpoint', '--json', '--no-progress'], { timeoutMs: 60_000 });
    const s = JSON.parse(r.stdout) as BackupJson;
    assert.equal(s.full, round === 0, `backup ${round} full?`);
    ids.push(String(s.checkpoint));
    if (round % 2 === 1) ids.push((await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim());
  }
  for (const w of writers) assert.deepEqual([w.errors, w.problem], [[], null], 'a writer reported an error');
  // Checkpoint numbers only grow, by one each, within the one generation.
  const numbers = ids.map((id) => Number(id.split(':')[1]));
  assert.deepEqual(numbers, numbers.map((_, i) => numbers[0]! + i));
  assert.equal(new Set(ids.map((id) => id.split(':')[0])).size, 1);

  for (const w of writers) w.child.kill('SIGTERM');
  await settleWithin(Promise.all(writers.map((w) => w.exited)), 5_000);
  for (const w of writers) if (!w.hasExited()) w.child.kill('SIGKILL');
  await withTimeout(Promise.all(writers.map((w) => w.exited)), 10_000, 'writers to exit');

  const lastArgs = ['backup', h.mnt, target, '--checkpoint', '--verify', '--json', '--no-progress'];
  const lastRun = await h.trackfsOk(lastArgs, { timeoutMs: 60_000 });
  const last = JSON.parse(lastRun.stdout) as BackupJson;
  assert.equal(last.full, false);
  t.diagnostic(`${acked()} writes during ${ids.length} checkpoints; last incremental copied ${last.copiedBytes} bytes of ${IMAGE_SIZE}`);
  assert.equal(await h.sha256(target), await h.sha256(h.volume), 'backup differs from the volume');
});
