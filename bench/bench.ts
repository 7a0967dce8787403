/**
 * `npm run bench [-- options]`: what tracking costs, side by side with the peers a user would pick
 * instead, measured in one run.
 *
 *   --quick            256 MiB image, 3 s random jobs, 50 000 writes in the 16 TiB test (smoke run)
 *   --reps N           repetitions per target, interleaved (default 2)
 *   --targets a,b      only these targets (direct, trackfs-strict, trackfs-ordered, trackfs-off,
 *                      c-libfuse2, qsd: see targets.ts)
 *   --jobs a,b         only these jobs (ids as in latest.json, e.g. seq-write-first,rand-read-qd1)
 *   --no-scale         skip the 16 TiB mount/memory test
 *   --knobs            instead of the comparison, measure tuning knobs of trackfs strict
 *                      (UV_THREADPOOL_SIZE 4/16/64, --mark-ahead 0/1M/4M, cluster size 64K/1M):
 *                      writes knobs.{json,md}
 *   --out DIR          where to write results (default bench/results)
 *   --variant N=TREE[:args]  also measure the trackfs built in another source tree (a candidate
 *                      change), as target N, mounted with args (comma-separated; default strict)
 *   --render FILE      only redraw the chart from an earlier latest.json
 *
 * Each target (targets.ts) serves a fresh sparse image per session; the jobs and sessions are in
 * jobs.ts; repetitions are interleaved (matrix.ts). Writes latest.json (medians, spread, samples,
 * ratios, target verdicts: results.ts, verdicts.ts), latest.md (report.ts), latest.svg and
 * latest.png (chart.ts; PNG via rsvg-convert from librsvg2-bin, installed when missing). A slow
 * result is a finding: nothing is filtered.
 */
import { join } from 'node:path';
import { cleanUpOnSignals, runCleanups } from './cleanup.js';
import { comparison } from './comparison.js';
import { knobs } from './knobs.js';
import { parseArgs } from './options.js';
import { renderOnly } from './output.js';
import { ROOT } from './paths.js';
import { colorsOf, comparisonTargets } from './targets.js';
import { ensureCommand } from './tools.js';

async function main(): Promise<void> {
  const startedAt = Date.now();
  const opts = parseArgs(process.argv.slice(2), join(ROOT, 'bench', 'results'));
  if (opts.render) return renderOnly(opts.render, opts.out, colorsOf(comparisonTargets()));
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error('the benchmark mounts FUSE file systems and drops caches: run it as root on Linux');
  }
  if (!ensureCommand('fio', ['fio'])) throw new Error('fio is required (apt-get install fio)');
  cleanUpOnSignals();
  const notes: string[] = [];
  try {
    if (opts.knobs) await knobs(opts, notes, startedAt);
    else await comparison(opts, notes, startedAt);
  } finally {
    runCleanups();
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  runCleanups();
  process.exit(1);
});
