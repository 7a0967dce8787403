/**
 * The comparison (`npm run bench`): every target on every job, then the 16 TiB scale test and the
 * in-process tracker cost; summarised, judged, and written as latest.{json,md,svg,png}.
 */
import { baseMeta } from './meta.js';
import { measure } from './matrix.js';
import { parseVariant, type Options } from './options.js';
import { writeComparison } from './output.js';
import { ROLE, summarise, type ComparisonReport } from './results.js';
import { scaleTest } from './scale.js';
import { colorsOf, comparisonTargets, readyTargets, variantTarget, type Target } from './targets.js';
import { measureTrackerCost } from './tracker-cost-run.js';
import { selectJobs } from './jobs.js';
import { judge } from './verdicts.js';

export async function comparison(opts: Options, notes: string[], startedAt: number): Promise<void> {
  const jobs = selectJobs(opts.jobs);
  const variants = opts.variants.map((v) => variantTarget(parseVariant(v)));
  const chosen = (t: Target) => !opts.targets || opts.targets.includes(t.name) || variants.includes(t);
  const targets = await readyTargets([...comparisonTargets(), ...variants].filter(chosen), notes);
  for (const n of notes) console.log(`bench: ${n}`);
  const measurements = await measure(targets, jobs, opts, 'trackfs-bench-');
  const scale = opts.scale && targets.some((t) => t.name === ROLE.tracked) ? await scaleTest(opts.scaleWrites) : null;
  if (scale) console.log(`16 TiB sparse image: ${JSON.stringify(scale)}`);
  const trackerCost = measureTrackerCost(notes);
  const summary = summarise(measurements, jobs, targets.map((t) => t.name));
  const report: ComparisonReport = {
    meta: baseMeta(opts, notes, startedAt),
    ...summary,
    scale,
    trackerCost,
    verdicts: judge(summary.results, { trackerCost, scale, cpuUsPer4kOp: summary.cpuUsPer4kOp }),
  };
  writeComparison(opts.out, report, colorsOf(targets), startedAt);
}
