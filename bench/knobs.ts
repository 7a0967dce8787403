/**
 * `--knobs`: tuning knobs of trackfs strict, each a target of its own, interleaved like the
 * comparison: libuv's threadpool size (image and journal I/O share it), marking ahead of sequential
 * streams (default 4M) and the cluster size (fewer, larger clusters mean fewer journal commits on
 * first touch). Tracking off is the reference. Writes knobs.{json,md}.
 */
import { selectJobs } from './jobs.js';
import { measure } from './matrix.js';
import { baseMeta } from './meta.js';
import type { Options } from './options.js';
import { writeKnobs } from './output.js';
import { KNOB_REFERENCE, summariseKnobs, type KnobsReport } from './results.js';
import { readyTargets, trackfsTarget, type Target } from './targets.js';

/** The jobs the knobs are measured on, unless --jobs says otherwise. */
const KNOB_JOBS = [
  'seq-write-first', 'seq-write-direct-first', 'seq-write-direct-rewrite', 'seq-read-hot', 'rand-write-4jobs-rewrite', 'rand-read-4jobs',
];

const STRICT = ['--durability', 'strict'];

function knobTargets(): Target[] {
  const knob = (name: string, args: string[], uvThreads: string, label: string) =>
    trackfsTarget({ name, args, env: { UV_THREADPOOL_SIZE: uvThreads }, label });
  return [
    knob('strict-uv4', STRICT, '4', 'strict, UV_THREADPOOL_SIZE=4'),
    knob('strict-uv16', STRICT, '16', 'strict, UV_THREADPOOL_SIZE=16 (default)'),
    knob('strict-uv64', STRICT, '64', 'strict, UV_THREADPOOL_SIZE=64'),
    knob('strict-ma0', [...STRICT, '--mark-ahead', '0'], '16', 'strict, --mark-ahead 0 (exact)'),
    knob('strict-ma1M', [...STRICT, '--mark-ahead', '1M'], '16', 'strict, --mark-ahead 1M'),
    knob('strict-1M', [...STRICT, '--cluster-size', '1M'], '16', 'strict, 1M clusters'),
    knob('ordered-1M', ['--durability', 'ordered', '--cluster-size', '1M'], '16', 'ordered, 1M clusters'),
    knob(KNOB_REFERENCE, ['--tracking-off'], '16', 'tracking off'),
  ];
}

export async function knobs(opts: Options, notes: string[], startedAt: number): Promise<void> {
  const jobs = selectJobs(opts.jobs ?? KNOB_JOBS);
  const variants = await readyTargets(knobTargets().filter((t) => !opts.targets || opts.targets.includes(t.name)), notes);
  const { cells } = await measure(variants, jobs, opts, 'trackfs-bench-knobs-');
  const report: KnobsReport = {
    meta: baseMeta(opts, notes, startedAt),
    variants: variants.map((v) => ({ name: v.name, label: v.label })),
    results: summariseKnobs(cells, jobs, variants.map((v) => v.name)),
  };
  writeKnobs(opts.out, report);
}
