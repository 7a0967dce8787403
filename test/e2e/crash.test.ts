/**
 * End to end: kill -9 of the daemon in the middle of a stream of writes. After a remount every
 * write that was acknowledged before the kill is listed (strict and ordered), and nothing that
 * was never written is. In ordered mode, a journal left active by a boot other than this one
 * (a host crash, simulated by rewriting the header's boot id) is not trusted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { chooseHeader, encodeHeader, headerSlotFor, HEADER_SLOT_SIZE, PAGES_OFFSET } from '../../src/journal/format.js';
import { clustersOfExtents, e2e, settleWithin, TEST_TIMEOUT_MS, waitFor, withTimeout, type Harness } from './harness.js';
import { startWriter } from './writer.js';
import { loopOffsets } from './prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_SIZE = 64 * MiB;
const CLUSTER_SIZE = 64 * KiB;
const CLUSTERS = IMAGE_SIZE / CLUSTER_SIZE;
const BLOCK = 4 * KiB;

interface WriterOutcome {
  /** Offsets whose write call returned before the writer stopped, in order. */
  acknowledged: number[];
}

/** child-writer.js arguments of a loop writer on the volume. */
function loopWriter(h: Harness, seed: number): string[] {
  return ['loop', h.volume, String(CLUSTER_SIZE), String(CLUSTERS), String(seed), String(BLOCK)];
}

/**
 * Starts one child writer per argument list (concurrently: their first-touch writes share journal
 * commits), SIGKILLs the daemon once `killAfter` writes are acknowledged in all, then kills the
 * writers and waits for the mount to be gone. Outcomes are in the order of `writerArgs`.
 */
async function writeAndCrash(h: Harness, daemonPid: number, writerArgs: string[][], killAfter: number): Promise<WriterOutcome[]> {
  const writers = writerArgs.map((args) => startWriter(h, args));
  const total = () => writers.reduce((n, w) => n + w.acknowledged.length, 0);

  await waitFor(`${killAfter} acknowledged writes`, () => {
    const dead = writers.find((w) => w.hasExited());
    if (dead) throw new Error(`writer ${dead.name} exited early after ${dead.acknowledged.length} writes: ${dead.stderr()}`);
    return total() >= killAfter;
  }, 40_000, 10);
  h.killDaemon(daemonPid);
  await h.waitDaemonGone(daemonPid);
  // Their next write fails (the connection died with the daemon); make sure they stop.
  await settleWithin(Promise.all(writers.map((w) => w.exited)), 2_000);
  for (const w of writers) if (!w.hasExited()) w.child.kill('SIGKILL');
  await withTimeout(Promise.all(writers.map((w) => w.exited)), 10_000, 'writers to exit after SIGKILL');
  await h.waitMountGone();
  for (const w of writers) assert.equal(w.problem, null, `writer ${w.name}: ${w.problem}`);
  return writers.map((w) => ({ acknowledged: w.acknowledged }));
}

for (const durability of ['strict', 'ordered'] as const) {
  test(`kill -9 mid-write, ${durability}: every acknowledged write is listed after remount`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    await h.createImage(IMAGE_SIZE);
    const seeds = durability === 'strict' ? [7, 17, 27] : [8, 18, 28];
    const pid = await h.mount({ clusterSize: '64K', durability });
    const writers = await writeAndCrash(h, pid, seeds.map((seed) => loopWriter(h, seed)), 400);
    const acknowledged = writers.flatMap((w) => w.acknowledged);
    assert.ok(acknowledged.length >= 400);

    // Offline, before any remount: the journal was left active, and says so.
    const offline = await h.status(h.journal);
    assert.equal(offline.journalState, 'active', 'journal left active by the killed daemon');

    const pid2 = await h.mount();
    assert.notEqual(pid2, pid);
    const r = await h.changes();
    assert.equal(r.trusted, true, `trusted after a daemon crash on the same boot (${r.reason ?? ''})`);
    const listed = clustersOfExtents(r.extents, CLUSTER_SIZE);
    const ackClusters = new Set(acknowledged.map((o) => o / CLUSTER_SIZE));
    const missing = [...ackClusters].filter((c) => !listed.has(c));
    assert.deepEqual(missing, [], 'acknowledged clusters missing from changes after the crash');
    // Nothing beyond what the writers could have issued (acknowledged writes plus one in flight each).
    const possible = new Set(
      writers.flatMap((w, i) => loopOffsets(seeds[i]!, w.acknowledged.length + 1, CLUSTER_SIZE, CLUSTERS)).map((o) => o / CLUSTER_SIZE),
    );
    const extra = [...listed].filter((c) => !possible.has(c));
    assert.deepEqual(extra, [], 'clusters listed that were never written');
    assert.equal(r.changedClusters, listed.size);

    const s = await h.status();
    assert.equal(s.trusted, true);
    assert.ok(s.events.some((e) => /left active/.test(e)), `status events mention the crash recovery: ${JSON.stringify(s.events)}`);
    assert.ok(s.events.some((e) => e.includes(durability)), `recovery event names the ${durability} mode: ${JSON.stringify(s.events)}`);

    await h.unmount();
    const after = await h.status(h.journal);
    assert.equal(after.journalState, 'clean');
    assert.equal(after.trusted, true);
  });
}

test('kill -9 in the middle of a long sequential stream (strict, marking ahead): every acknowledged write listed, extras only within the window ahead', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(IMAGE_SIZE);
  const pid = await h.mount({ clusterSize: '64K', durability: 'strict' });
  const START = 3 * MiB + 4 * KiB; // not cluster-aligned: the stream's edges fall inside clusters
  const BLOCK_SEQ = 128 * KiB;
  // Killed well past the 4 MiB after which trackfs marks ahead of the stream, well before its end.
  const [stream] = await writeAndCrash(h, pid, [['seq', h.volume, String(START), String(BLOCK_SEQ), '400']], 160);
  const acknowledged = stream!.acknowledged;

  await h.mount();
  const r = await h.changes();
  assert.equal(r.trusted, true);
  const listed = clustersOfExtents(r.extents, CLUSTER_SIZE);
  const acked = new Set<number>();
  for (const o of acknowledged)
    for (let c = Math.floor(o / CLUSTER_SIZE); c <= Math.floor((o + BLOCK_SEQ - 1) / CLUSTER_SIZE); c++) acked.add(c);
  assert.deepEqual([...acked].filter((c) => !listed.has(c)), [], 'acknowledged clusters missing after the crash');
  // Extras: only past the stream, within the write in flight plus the 4 MiB window ahead of it.
  const end = START + (acknowledged.length + 1) * BLOCK_SEQ;
  const lastAllowed = Math.floor((end - 1 + 4 * MiB) / CLUSTER_SIZE);
  const extra = [...listed].filter((c) => !acked.has(c));
  assert.deepEqual(extra.filter((c) => c < Math.floor(START / CLUSTER_SIZE) || c > lastAllowed), [], 'clusters listed outside the stream and its window');
  t.diagnostic(`${acknowledged.length} writes acknowledged (${acked.size} clusters); listed ${listed.size}, ${extra.length} of them marked ahead and not acknowledged`);
  await h.unmount();
});

test('ordered mode: a journal left active by another boot is untrusted after remount', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(IMAGE_SIZE);
  const pid = await h.mount({ clusterSize: '64K', durability: 'ordered' });
  const writers = await writeAndCrash(h, pid, [loopWriter(h, 9)], 50);
  assert.ok(writers[0]!.acknowledged.length >= 50);

  // Simulate a host crash: the header says the journal was activated during another boot.
  const fh = await open(h.journal, 'r+');
  try {
    const area = Buffer.alloc(PAGES_OFFSET);
    await fh.read(area, 0, PAGES_OFFSET, 0);
    const { header } = chooseHeader(area);
    assert.equal(header.state, 'active', 'the killed daemon left the journal active');
    assert.equal(header.durability, 'ordered');
    const next = { ...header, bootId: 'other-boot', sequence: header.sequence + 1n };
    await fh.write(encodeHeader(next), 0, HEADER_SLOT_SIZE, headerSlotFor(next.sequence) * HEADER_SLOT_SIZE);
    await fh.sync();
  } finally {
    await fh.close();
  }

  await h.mount();
  const r = await h.changes();
  assert.equal(r.trusted, false, 'a journal left active in ordered mode by another boot cannot be trusted');
  assert.match(r.reason ?? '', /restart/i);
  assert.deepEqual(r.extents, [{ offset: 0, length: IMAGE_SIZE }], 'untrusted: one extent covering the whole image');
  assert.equal(r.changedBytes, IMAGE_SIZE);
  const s = await h.status();
  assert.equal(s.trusted, false);
  assert.equal(s.journalState, 'untrusted');
  assert.match(String(s.reason), /restart/i);
  assert.ok(s.events.some((e) => /restarted/.test(e)), `status events mention the restart: ${JSON.stringify(s.events)}`);

  // Untrusted is sticky: a clean unmount does not make it trusted again.
  await h.unmount();
  const offline = await h.status(h.journal);
  assert.equal(offline.trusted, false);
  const offChanges = await h.changes(h.journal);
  assert.deepEqual(offChanges.extents, [{ offset: 0, length: IMAGE_SIZE }]);
});
