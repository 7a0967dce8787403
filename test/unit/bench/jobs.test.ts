/** The job list and the first-touch iolog: one 4 KiB write in every cluster, each cluster once. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER, JOBS, SESSIONS, firstTouchLog, fullCoverBytes, selectJobs } from '../../../bench/jobs.js';

describe('bench jobs', () => {
  test('job ids are unique and every job is in a known session', () => {
    assert.equal(new Set(JOBS.map((j) => j.id)).size, JOBS.length);
    for (const j of JOBS) assert.ok(SESSIONS.includes(j.session), j.id);
  });

  test('selectJobs keeps the order of the list and refuses a selection that matches nothing', () => {
    assert.deepEqual(selectJobs(['rand-read-qd1', 'seq-write-first']).map((j) => j.id), ['seq-write-first', 'rand-read-qd1']);
    assert.equal(selectJobs(null).length, JOBS.length);
    assert.throws(() => selectJobs(['nope']), /no job matches --jobs; ids: seq-write-first, /);
  });

  test('the first-touch log writes 4 KiB once in every whole cluster, inside it, 4 KiB aligned', () => {
    const bytes = 100 * CLUSTER + 5000; // the partial cluster at the end gets no write
    const lines = firstTouchLog(bytes).trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['fio version 2 iolog', 'vol add', 'vol open']);
    assert.equal(lines.at(-1), 'vol close');
    const offsets = lines.slice(3, -1).map((l) => {
      const m = /^vol write (\d+) 4096$/.exec(l);
      assert.ok(m, l);
      return Number(m[1]);
    });
    assert.equal(offsets.length, 100);
    for (const o of offsets) assert.equal(o % 4096, 0);
    assert.deepEqual(offsets.map((o) => Math.floor(o / CLUSTER)).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
    assert.notDeepEqual(offsets, [...offsets].sort((a, b) => a - b), 'clusters in a random order');
  });

  test('the first-touch log is the same every run (a fixed seed)', () => {
    assert.equal(firstTouchLog(64 * CLUSTER), firstTouchLog(64 * CLUSTER));
  });

  test('a job covers the file when it moved the whole image, or 4 KiB per cluster for the iolog', () => {
    const seq = JOBS.find((j) => j.id === 'seq-write-first')!;
    const log = JOBS.find((j) => j.firstTouchLog)!;
    assert.equal(fullCoverBytes(seq, 256 << 20), 256 << 20);
    assert.equal(fullCoverBytes(log, 256 << 20), (256 << 20) / 16);
  });
});
