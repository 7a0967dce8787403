/**
 * What latest.json and knobs.json hold, and how they are made from a run's measurements: per job
 * and target the median, spread, samples, daemon CPU per operation and median latency; per job the
 * ratios the report is about. Pure: no I/O.
 */
import type { Cells, Measurements } from './cells.js';
import type { Job, Metric } from './jobs.js';
import { median, round, spread } from './stats.js';

/** The targets the ratios, the extra columns and the verdicts are about (names as in targets.ts). */
export const ROLE = {
  baseline: 'direct',
  tracked: 'trackfs-strict',
  ordered: 'trackfs-ordered',
  untracked: 'trackfs-off',
  peer: 'qsd',
  /** The C libfuse2 passthrough: what a native FUSE path can reach. */
  cPeer: 'c-libfuse2',
  /** trackfs strict served by JavaScript alone. */
  javascript: 'trackfs-js',
} as const;

/** Writers of the scale test's random writes. */
export const SCALE_WRITERS = 4;

export interface TargetResult {
  median: number | null;
  spread: number | null;
  samples: (number | null)[];
  cpuUsPerOp: number | null;
  clat50us: number | null;
}

export interface JobResult {
  id: string;
  job: string;
  metric: Metric;
  touch: 'first' | 'rewrite' | null;
  targets: Record<string, TargetResult>;
  ratios: {
    vsDirect: Record<string, number | null>;
    vsQsd: Record<string, number | null>;
    vsC: Record<string, number | null>;
    strictVsOff: number | null;
    orderedVsOff: number | null;
  };
}

/** The 16 TiB mount/memory test (scale.ts). */
export type ScaleResult = Record<string, number | string>;

/** What tracking adds to a rewrite, in-process (tracker-cost.ts). */
export interface TrackerCost { calls: number; random4k: { addedNs: number }; sequential128k: { addedNs: number }; raw: unknown }

export interface Verdict { target: string; value: string; holds: boolean | null }

export interface Meta {
  date: string;
  durationSeconds: number;
  quick: boolean;
  reps: number;
  imageMiB: number;
  randomJobSeconds: number;
  node: string;
  kernel: string;
  cpus: number;
  uvThreadpoolSize: string;
  commit: string;
  uncommittedSourceChanges: string[];
  notes: string[];
}

/** latest.json. */
export interface ComparisonReport {
  meta: Meta;
  results: JobResult[];
  cpuUsPer4kOp: Record<string, number | null>;
  rssAfterMainSessionMiB: Record<string, number | null>;
  scale: ScaleResult | null;
  trackerCost: TrackerCost | null;
  verdicts: Verdict[];
}

/** Medians of one run's cells, looked up by job id and target name (NaN where nothing was measured). */
function medians(cells: Cells) {
  return {
    value: (j: string, t: string) => median(cells.get(j, t)?.samples ?? []),
    cpu: (j: string, t: string) => median(cells.get(j, t)?.cpuUsPerOp ?? []),
  };
}

function targetResult(cells: Cells, job: string, target: string): TargetResult {
  const c = cells.get(job, target);
  const m = medians(cells);
  return {
    median: round(m.value(job, target), 1),
    spread: round(spread(c?.samples ?? [])),
    samples: (c?.samples ?? []).map((v) => round(v, 1)),
    cpuUsPerOp: round(m.cpu(job, target), 1),
    clat50us: round(median(c?.clat50us ?? []), 1),
  };
}

/** The results of a comparison: per job, per target, and the ratios (from the unrounded medians). */
export function summarise(
  { cells, rss }: Measurements, jobs: Job[], names: string[],
): Pick<ComparisonReport, 'results' | 'cpuUsPer4kOp' | 'rssAfterMainSessionMiB'> {
  const med = medians(cells).value;
  const cpuOf = medians(cells).cpu;
  const results = jobs.map((job): JobResult => {
    const per = (fn: (t: string) => number) => Object.fromEntries(names.map((t) => [t, round(fn(t))]));
    return {
      id: job.id,
      job: job.name,
      metric: job.metric,
      touch: job.touch ?? null,
      targets: Object.fromEntries(names.map((t) => [t, targetResult(cells, job.id, t)])),
      ratios: {
        vsDirect: per((t) => med(job.id, t) / med(job.id, ROLE.baseline)),
        vsQsd: per((t) => med(job.id, t) / med(job.id, ROLE.peer)),
        vsC: per((t) => med(job.id, t) / med(job.id, ROLE.cPeer)),
        strictVsOff: round(med(job.id, ROLE.tracked) / med(job.id, ROLE.untracked)),
        orderedVsOff: round(med(job.id, ROLE.ordered) / med(job.id, ROLE.untracked)),
      },
    };
  });
  const smallJobs = jobs.filter((j) => j.small);
  const servers = names.filter((t) => t !== ROLE.baseline);
  return {
    results,
    cpuUsPer4kOp: Object.fromEntries(servers.map((t) => [t, round(median(smallJobs.map((j) => cpuOf(j.id, t))), 1)])),
    rssAfterMainSessionMiB: Object.fromEntries([...rss].map(([t, xs]) => [t, round(median(xs), 1)])),
  };
}

/** The reference of the knobs comparison: every other knob is shown as a ratio to it. */
export const KNOB_REFERENCE = 'off';

export interface KnobResult {
  id: string;
  job: string;
  metric: Metric;
  variants: Record<string, Omit<TargetResult, 'clat50us'> & { vsOff: number | null }>;
}

/** knobs.json. */
export interface KnobsReport {
  meta: Meta;
  variants: { name: string; label: string | undefined }[];
  results: KnobResult[];
}

export function summariseKnobs(cells: Cells, jobs: Job[], names: string[]): KnobResult[] {
  const med = medians(cells).value;
  return jobs.map((job) => ({
    id: job.id,
    job: job.name,
    metric: job.metric,
    variants: Object.fromEntries(names.map((t) => {
      const { clat50us: _, ...rest } = targetResult(cells, job.id, t);
      return [t, { ...rest, vsOff: round(med(job.id, t) / med(job.id, KNOB_REFERENCE)) }];
    })),
  }));
}
