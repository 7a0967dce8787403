/** The performance targets judged from a results object: which are judged, and what holds. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { judge } from '../../../bench/verdicts.js';
import type { JobResult } from '../../../bench/results.js';
import { fixedResults } from './fixture.js';

const none = { trackerCost: null, scale: null };

describe('bench verdicts', () => {
  test('strict >= qsd for every job, unknown (?) where qsd measured nothing', () => {
    const v = judge(fixedResults(), none).filter((x) => x.target.startsWith('strict >= qsd'));
    assert.deepEqual(v, [
      { target: 'strict >= qsd: seq write 1M buffered + fsync (rewrite)', value: '0.63', holds: false },
      { target: 'strict >= qsd: rand write 4K qd1 (first touch)', value: '-', holds: null },
    ]);
  });

  test('strict/off: rewrites at 0.95 with both spreads; random first touch is not judged', () => {
    const v = judge(fixedResults(), none).filter((x) => x.target.startsWith('strict/off'));
    assert.deepEqual(v, [{
      target: 'strict/off >= 0.95 (overhead <= 5 %): seq write 1M buffered + fsync (rewrite)',
      value: '0.950; spread strict 10 %, off 4 %',
      holds: true,
    }]);
  });

  test('strict/off: sequential first touch at 0.85, no spread text when a spread is unknown', () => {
    const seqFirst: JobResult = { ...fixedResults()[0]!, id: 'seq-write-first', job: 'seq first', touch: 'first' };
    seqFirst.ratios = { ...seqFirst.ratios, strictVsOff: 0.849 };
    seqFirst.targets = { ...seqFirst.targets, 'trackfs-off': { ...seqFirst.targets['trackfs-off']!, spread: null } };
    const v = judge([seqFirst], none).find((x) => x.target.startsWith('strict/off'));
    assert.deepEqual(v, { target: 'strict/off >= 0.85 (overhead <= 15 %): seq first', value: '0.849', holds: false });
  });

  test('a target left out of the run leaves its verdicts out', () => {
    const withoutQsd = fixedResults().map((r) => {
      const { qsd: _, ...targets } = r.targets;
      return { ...r, targets };
    });
    assert.ok(judge(withoutQsd, none).every((x) => !x.target.startsWith('strict >= qsd')));
    const strictOnly = fixedResults().map((r) => ({ ...r, targets: { 'trackfs-strict': r.targets['trackfs-strict']! } }));
    assert.deepEqual(judge(strictOnly, none), []);
  });

  test('the in-process tracker cost, against the daemon CPU of a 4 KiB rewrite (100 µs when not measured)', () => {
    const cost = { calls: 1, random4k: { addedNs: 30 }, sequential128k: { addedNs: 60 }, raw: {} };
    const rewrite: JobResult = { ...fixedResults()[0]!, id: 'rand-write-qd1-rewrite' };
    rewrite.targets = { ...rewrite.targets, 'trackfs-strict': { ...rewrite.targets['trackfs-strict']!, cpuUsPerOp: 150 } };
    const measured = judge([rewrite], { trackerCost: cost, scale: null }).at(-1)!;
    assert.equal(measured.value, '30 ns per 4 KiB rewrite, 60 ns per 128 KiB one = 0.020 % of the daemon\'s CPU per 4 KiB request');
    assert.equal(measured.holds, true);
    const unmeasured = judge(fixedResults(), { trackerCost: { ...cost, random4k: { addedNs: 6000 } }, scale: null }).at(-1)!;
    assert.match(unmeasured.value, /= 6\.000 % of the daemon's CPU/);
    assert.equal(unmeasured.holds, false);
  });

  test('the 16 TiB targets: mount under 2 s, RSS under 150 MB (MiB converted)', () => {
    const v = judge(fixedResults(), { trackerCost: null, scale: { mountMs: 1999, rssAfterMountMiB: 143.1 } }).slice(-2);
    assert.deepEqual(v, [
      { target: '16 TiB sparse image: mount < 2 s', value: '1999 ms', holds: true },
      { target: '16 TiB sparse image: RSS < 150 MB after mount', value: '150 MB', holds: false },
    ]);
  });

  test('the native data path: 4 KiB jobs against qsd and C, 1 MiB O_DIRECT against qsd, CPU per request', () => {
    const base = fixedResults()[0]!;
    const job = (id: string, vsQsd: number, vsC: number, cpu = 20): JobResult => ({
      ...base, id, ratios: { ...base.ratios, vsQsd: { ...base.ratios.vsQsd, 'trackfs-strict': vsQsd }, vsC: { ...base.ratios.vsC, 'trackfs-strict': vsC } },
      targets: { ...base.targets, 'trackfs-strict': { ...base.targets['trackfs-strict']!, cpuUsPerOp: cpu }, 'c-libfuse2': base.targets['qsd']! },
    });
    // The CPU target is the median over the 4 KiB read and rewrite jobs only: a first touch's CPU
    // (waiting on the journal) does not count.
    const results = [
      job('rand-read-qd1', 1.2, 0.95, 20), job('rand-write-qd1-rewrite', 0.8, 0.85, 29), job('seq-write-direct-rewrite', 0.6, 0.4, 500),
      job('rand-write-qd1-first', 0.1, 0.1, 400),
    ];
    const v = judge(results, { trackerCost: null, scale: null, cpuUsPer4kOp: { 'trackfs-strict': 99 } }).filter((x) => x.target.startsWith('native path'));
    assert.deepEqual(v.map((x) => [x.target.replace(/: .*/, ''), x.holds]), [
      ['native path', true], ['native path', true], ['native path', false], ['native path', false], ['native path', true], ['native path', true],
    ]);
    assert.equal(v.at(-1)!.value, '24.5 µs');
    const slowResults = [job('rand-read-qd1', 1.2, 0.95, 31), job('rand-write-qd1-rewrite', 0.8, 0.85, 35)];
    const slow = judge(slowResults, { trackerCost: null, scale: null, cpuUsPer4kOp: { 'trackfs-strict': 1 } }).at(-1)!;
    assert.equal(slow.holds, false);
  });
});
