/** A fixed comparison, as latest.json holds it: two jobs, four targets, one repetition each. */
import type { ComparisonReport, JobResult, TargetResult } from '../../../bench/results.js';

const cell = (median: number | null, cpuUsPerOp: number | null, spread: number | null = null): TargetResult => ({
  median, spread, samples: median === null ? [] : [median], cpuUsPerOp, clat50us: null,
});

export function fixedResults(): JobResult[] {
  return [
    {
      id: 'seq-write-rewrite', job: 'seq write 1M buffered + fsync (rewrite)', metric: 'MB/s', touch: 'rewrite',
      targets: {
        direct: cell(600, null), 'trackfs-strict': cell(285, 1500.4, 0.1), 'trackfs-off': cell(300, 1450, 0.04), qsd: cell(450, 480),
      },
      ratios: {
        vsDirect: { direct: 1, 'trackfs-strict': 0.475, 'trackfs-off': 0.5, qsd: 0.75 },
        vsQsd: { direct: 1.333, 'trackfs-strict': 0.633, 'trackfs-off': 0.667, qsd: 1 },
        vsC: { direct: null, 'trackfs-strict': null, 'trackfs-off': null, qsd: null },
        strictVsOff: 0.95, orderedVsOff: null,
      },
    },
    {
      id: 'rand-write-qd1-first', job: 'rand write 4K qd1 (first touch)', metric: 'IOPS', touch: 'first',
      targets: {
        direct: cell(128000, null), 'trackfs-strict': cell(992, 457), 'trackfs-off': cell(7300, 120), qsd: cell(null, null),
      },
      ratios: {
        vsDirect: { direct: 1, 'trackfs-strict': 0.008, 'trackfs-off': 0.057, qsd: null },
        vsQsd: { direct: null, 'trackfs-strict': null, 'trackfs-off': null, qsd: null },
        vsC: { direct: null, 'trackfs-strict': null, 'trackfs-off': null, qsd: null },
        strictVsOff: 0.136, orderedVsOff: null,
      },
    },
  ];
}

export function fixedReport(): ComparisonReport {
  return {
    meta: {
      date: '2026-12-01T12:00:00.000Z', durationSeconds: 42, quick: true, reps: 1, imageMiB: 256, randomJobSeconds: 3,
      node: 'v20.0.0', kernel: '6.1.0', cpus: 2, uvThreadpoolSize: '16', commit: '0123456789abcdef', uncommittedSourceChanges: [],
      notes: ['c-libfuse2 skipped: not here'],
    },
    results: fixedResults(),
    cpuUsPer4kOp: { 'trackfs-strict': 457, 'trackfs-off': 120, qsd: null },
    rssAfterMainSessionMiB: { 'trackfs-strict': 100.5, 'trackfs-off': 90, qsd: 10.2 },
    scale: null,
    trackerCost: { calls: 1000, random4k: { addedNs: 30 }, sequential128k: { addedNs: 60 }, raw: {} },
    verdicts: [{ target: 'strict >= qsd: seq write 1M buffered + fsync (rewrite)', value: '0.63', holds: false }],
  };
}
