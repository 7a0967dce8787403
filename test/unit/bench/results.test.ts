/** From a run's raw measurements to latest.json's results: medians, spreads, ratios, CPU and RSS. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Cells } from '../../../bench/cells.js';
import { JOBS, type Job } from '../../../bench/jobs.js';
import { summarise, summariseKnobs } from '../../../bench/results.js';

const job = (id: string): Job => JOBS.find((j) => j.id === id)!;

function cells(values: Record<string, Record<string, { samples: number[]; cpu?: number[]; clat?: number[] }>>): Cells {
  const c = new Cells();
  for (const [j, perTarget] of Object.entries(values)) {
    for (const [t, v] of Object.entries(perTarget)) {
      const cell = c.at(j, t);
      cell.samples.push(...v.samples);
      cell.cpuUsPerOp.push(...(v.cpu ?? []));
      cell.clat50us.push(...(v.clat ?? []));
    }
  }
  return c;
}

describe('bench results', () => {
  const names = ['direct', 'trackfs-strict', 'trackfs-ordered', 'trackfs-off', 'qsd'];
  const measured = cells({
    'seq-write-rewrite': {
      direct: { samples: [600, 620] },
      'trackfs-strict': { samples: [280, 300, 290], cpu: [1500, 1600, 1400], clat: [3000, 3100, 2900] },
      'trackfs-ordered': { samples: [310] },
      'trackfs-off': { samples: [300, 310], cpu: [1450] },
      qsd: { samples: [450], cpu: [480] },
    },
    'rand-write-qd1-rewrite': {
      direct: { samples: [80000] },
      'trackfs-strict': { samples: [3000], cpu: [180] },
      'trackfs-off': { samples: [3100], cpu: [160] },
    },
    'rand-read-qd1': {
      'trackfs-strict': { samples: [4000], cpu: [140] },
    },
  });
  const rss = new Map([['trackfs-strict', [100, 120.44]], ['qsd', [10.25]]]);
  const jobs = [job('seq-write-rewrite'), job('rand-write-qd1-rewrite'), job('rand-read-qd1')];
  const out = summarise({ cells: measured, rss }, jobs, names);

  test('per job and target: median, spread (max-min)/median, samples, CPU and latency medians', () => {
    const r = out.results[0]!;
    assert.deepEqual({ id: r.id, job: r.job, metric: r.metric, touch: r.touch },
      { id: 'seq-write-rewrite', job: 'seq write 1M buffered + fsync (rewrite)', metric: 'MB/s', touch: 'rewrite' });
    assert.deepEqual(r.targets['trackfs-strict'],
      { median: 290, spread: 0.069, samples: [280, 300, 290], cpuUsPerOp: 1500, clat50us: 3000 });
    assert.deepEqual(r.targets['direct'], { median: 610, spread: 0.033, samples: [600, 620], cpuUsPerOp: null, clat50us: null });
    assert.equal(out.results[2]!.touch, null);
  });

  test('a target that measured nothing for a job is null throughout, never NaN', () => {
    assert.deepEqual(out.results[1]!.targets['qsd'], { median: null, spread: null, samples: [], cpuUsPerOp: null, clat50us: null });
    assert.equal(out.results[1]!.ratios.vsQsd['trackfs-strict'], null);
    assert.equal(out.results[1]!.ratios.orderedVsOff, null);
  });

  test('ratios to direct and qsd for every target, strict/off and ordered/off', () => {
    const r = out.results[0]!.ratios;
    assert.deepEqual(r.vsDirect, { direct: 1, 'trackfs-strict': 0.475, 'trackfs-ordered': 0.508, 'trackfs-off': 0.5, qsd: 0.738 });
    assert.deepEqual(r.vsQsd, { direct: 1.356, 'trackfs-strict': 0.644, 'trackfs-ordered': 0.689, 'trackfs-off': 0.678, qsd: 1 });
    assert.equal(r.strictVsOff, 0.951);
    assert.equal(r.orderedVsOff, 1.016);
  });

  test('CPU per 4 KiB operation: the median over the small jobs, per server', () => {
    assert.deepEqual(out.cpuUsPer4kOp, { 'trackfs-strict': 160, 'trackfs-ordered': null, 'trackfs-off': 160, qsd: null });
  });

  test('RSS after the main session: the median per server, to 0.1 MiB', () => {
    assert.deepEqual(out.rssAfterMainSessionMiB, { 'trackfs-strict': 110.2, qsd: 10.3 });
  });

  test('knobs: every variant with its ratio to tracking off, no latency', () => {
    const k = summariseKnobs(cells({ 'rand-read-4jobs': { a: { samples: [90], cpu: [50] }, off: { samples: [100] } } }),
      [job('rand-read-4jobs')], ['a', 'off']);
    assert.deepEqual(k, [{
      id: 'rand-read-4jobs', job: 'rand read 4K 4 jobs', metric: 'IOPS',
      variants: {
        a: { median: 90, spread: null, samples: [90], cpuUsPerOp: 50, vsOff: 0.9 },
        off: { median: 100, spread: null, samples: [100], cpuUsPerOp: null, vsOff: 1 },
      },
    }]);
  });
});
