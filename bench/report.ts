/** latest.md and knobs.md, rendered from the reports written beside them (latest.json, knobs.json). Pure: no I/O. */
import { fmt, ratio } from './format.js';
import { KNOB_REFERENCE, ROLE, SCALE_WRITERS, type ComparisonReport, type JobResult, type KnobsReport, type Meta, type ScaleResult,
  type TrackerCost, type Verdict } from './results.js';
import { num } from './stats.js';

/** A markdown table: a header row, right-aligned value columns, and the rows. */
function table(first: string, cols: string[], rows: string[][]): string {
  const head = `| ${first} | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:|').join('')}\n`;
  return `${head}${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`;
}

/** The target names of a run, in its order. */
export function targetNames(results: JobResult[]): string[] {
  return Object.keys(results[0]?.targets ?? {});
}

/** Per job, each target's median, then the ratios of trackfs strict to direct, off and qsd where both ran. */
export function resultsTable(results: JobResult[]): string {
  const names = targetNames(results);
  const has = (t: string) => names.includes(t);
  const extra: [string, (r: JobResult) => number | null | undefined][] = [];
  if (has(ROLE.tracked) && has(ROLE.baseline)) extra.push(['strict/direct', (r) => r.ratios.vsDirect[ROLE.tracked]]);
  if (has(ROLE.tracked) && has(ROLE.untracked)) extra.push(['strict/off', (r) => r.ratios.strictVsOff]);
  if (has(ROLE.tracked) && has(ROLE.peer)) extra.push(['strict/qsd', (r) => r.ratios.vsQsd[ROLE.tracked]]);
  if (has(ROLE.tracked) && has(ROLE.cPeer)) extra.push(['strict/C', (r) => r.ratios.vsC[ROLE.tracked]]);
  if (has(ROLE.javascript) && has(ROLE.peer)) extra.push(['js/qsd', (r) => r.ratios.vsQsd[ROLE.javascript]]);
  return table('job', [...names, ...extra.map(([c]) => c)], results.map((r) => [
    `${r.job}, ${r.metric}`,
    ...names.map((t) => fmt(num(r.targets[t]!.median), r.metric)),
    ...extra.map(([, of]) => ratio(num(of(r)))),
  ]));
}

/** Per job, each server's CPU per operation in µs. */
export function cpuTable(results: JobResult[]): string {
  const servers = targetNames(results).filter((t) => t !== ROLE.baseline);
  return table('job', servers, results.map((r) => [
    r.job,
    ...servers.map((t) => { const v = r.targets[t]!.cpuUsPerOp; return v === null ? '-' : v.toFixed(0); }),
  ]));
}

function scaleText(scale: ScaleResult, quick: boolean): string {
  return `\n16 TiB sparse image (${scale['imageBytes']} bytes, 64K clusters): fresh mount (strict) ${scale['mountMs']} ms,`
    + ` daemon RSS ${scale['rssAfterMountMiB']} MiB;`
    + ` after ${scale['writes']} random 4K writes spread over the whole image (ordered mode, ${SCALE_WRITERS} writers,`
    + ` ${scale['writeIops']} IOPS${quick ? '; quick mode: fewer than the 1 000 000 of a full run' : ''})`
    + ` RSS ${scale['rssAfterWritesMiB']} MiB, unmount ${scale['unmountMs']} ms;`
    + ` strict remount of that journal ${scale['remountMs']} ms, RSS ${scale['rssAfterRemountMiB']} MiB.\n`
    + (scale['uncleanUnmounts'] ? `\nUnmounts that left the journal active (not clean): ${scale['uncleanUnmounts']}.\n` : '');
}

function trackerCostText(cost: TrackerCost): string {
  return `\nWhat tracking adds to a rewrite, in-process (bench/tracker-cost.ts, best of 5 × ${cost.calls} calls):`
    + ` ${cost.random4k.addedNs} ns per random 4 KiB write, ${cost.sequential128k.addedNs} ns per sequential 128 KiB write.\n`;
}

function verdictText(verdicts: Verdict[]): string {
  if (!verdicts.length) return '';
  const outcome = (v: Verdict) => (v.holds === null ? '?' : v.holds ? 'holds' : 'MISSED');
  return `\nTargets (this run's medians):\n\n${verdicts.map((v) => `- ${outcome(v)}: ${v.target} (${v.value})`).join('\n')}\n`;
}

function notesText(notes: string[]): string {
  return notes.map((n) => `\n- ${n}`).join('');
}

function runLine(meta: Meta): string {
  return `Benchmark ${meta.date} (${meta.durationSeconds} s): ${meta.imageMiB} MiB image, ${meta.reps} interleaved repetitions, medians;`
    + ` commit ${meta.commit.slice(0, 10)}${meta.uncommittedSourceChanges.length ? ' + uncommitted src changes' : ''};`
    + ` ${meta.cpus} CPUs, Linux ${meta.kernel}, Node ${meta.node}.\n`;
}

/** latest.md. */
export function renderMarkdown(report: ComparisonReport): string {
  const { meta, results } = report;
  const names = targetNames(results);
  const servers = names.filter((t) => t !== ROLE.baseline);
  const spreadMax = Math.max(...results.flatMap((r) => names.map((t) => r.targets[t]!.spread ?? 0)));
  const rss = Object.entries(report.rssAfterMainSessionMiB).map(([t, v]) => `${t} ${v} MiB`).join(', ');
  return runLine(meta)
    + `Largest spread (max-min)/median of any cell: ${(spreadMax * 100).toFixed(0)} %.\n\n${resultsTable(results)}\n`
    + '\nDaemon CPU per operation (user+sys of the server process, µs; an operation is one fio I/O:'
    + ` 1 MiB for the seq jobs, 4 KiB otherwise):\n\n${cpuTable(results)}\n`
    + `\nMedian over the 4 KiB jobs: ${servers.map((t) => `${t} ${report.cpuUsPer4kOp[t] ?? '-'}`).join(', ')} µs per operation.\n`
    + `\nDaemon RSS after the main session: ${rss}.\n`
    + (report.scale ? scaleText(report.scale, meta.quick) : '')
    + (report.trackerCost ? trackerCostText(report.trackerCost) : '')
    + verdictText(report.verdicts) + notesText(meta.notes) + '\n';
}

/** knobs.md: each knob's median, and in brackets its ratio to tracking off. */
export function renderKnobsMarkdown(report: KnobsReport): string {
  const { meta, results, variants } = report;
  const names = variants.map((v) => v.name);
  const rows = results.map((r) => [
    `${r.job}, ${r.metric}`,
    ...names.map((t) => {
      const v = r.variants[t]!;
      return `${fmt(num(v.median), r.metric)}${t === KNOB_REFERENCE ? '' : ` (${ratio(num(v.vsOff))})`}`;
    }),
  ]);
  return `Knobs ${meta.date} (${meta.durationSeconds} s): ${meta.imageMiB} MiB image, ${meta.reps} interleaved repetitions, medians;`
    + ` in brackets: ratio to tracking off; commit ${meta.commit.slice(0, 10)}.\n\n`
    + `${table('job', variants.map((v) => v.label ?? v.name), rows)}\n${notesText(meta.notes)}\n`;
}
