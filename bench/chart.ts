/**
 * The chart of a comparison (latest.svg): grouped horizontal bars, one group per job, each bar the
 * target's median divided by the reference target's (qsd when present): the line at 1.0 is "as
 * fast as the reference". Bars past the scale are cut and say so; every bar carries its ratio and
 * its absolute value. Drawn from the results in latest.json alone. Pure: no I/O.
 */
import { fmt } from './format.js';
import { ROLE, type JobResult, type Meta } from './results.js';
import { targetNames } from './report.js';
import { num } from './stats.js';

const PALETTE = ['#1565c0', '#64b5f6', '#7e57c2', '#2e7d32', '#ef6c00', '#c62828', '#9e9e9e'];

const WIDTH = 1100;
const LEFT = 300; // job labels
const PLOT_W = 600;
const MAX_RATIO = 2.5;
const BAR_H = 12;
const GAP = 2;
const GROUP_PAD = 16;
const LEGEND_PER_ROW = 4;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The reference of the bars: qsd, else the C passthrough, else the first target. */
export function chartReference(names: string[]): string {
  return names.includes(ROLE.peer) ? ROLE.peer : names.includes('c-libfuse2') ? 'c-libfuse2' : names[0]!;
}

interface ChartInput {
  title: string;
  subtitle: string;
  results: JobResult[];
  targets: string[];
  ref: string;
  /** Colours by target name; the others take the palette by position. */
  colors: Record<string, string>;
}

export function svgChart({ title, subtitle, results, targets, ref, colors }: ChartInput): string {
  const color = (t: string, i: number) => colors[t] ?? PALETTE[i % PALETTE.length];
  const legendRows = Math.ceil(targets.length / LEGEND_PER_ROW);
  const top = 64 + legendRows * 20 + 22;
  const x = (r: number) => LEFT + (PLOT_W * Math.min(r, MAX_RATIO)) / MAX_RATIO;
  const parts: string[] = [];
  const groupH = targets.length * (BAR_H + GAP) + GROUP_PAD;
  const height = top + results.length * groupH + 30;
  parts.push(`<text x="12" y="24" font-size="18" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="12" y="44" font-size="13" fill="#444">${esc(subtitle)}</text>`);
  targets.forEach((t, i) => {
    const lx = 12 + (i % LEGEND_PER_ROW) * 230;
    const ly = 58 + Math.floor(i / LEGEND_PER_ROW) * 20;
    parts.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${color(t, i)}"/>`
      + `<text x="${lx + 20}" y="${ly + 12}" font-size="13">${esc(t)}${t === ref ? ' (= 1.0)' : ''}</text>`);
  });
  // Grid and scale.
  for (let r = 0; r <= MAX_RATIO + 1e-9; r += 0.5) {
    const gx = x(r);
    const one = r === 1;
    parts.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 24}" stroke="${one ? '#000' : '#ddd'}"`
      + ` stroke-width="${one ? 1.5 : 1}"${one ? ' stroke-dasharray="5,3"' : ''}/>`);
    parts.push(`<text x="${gx}" y="${top - 10}" font-size="11" text-anchor="middle" fill="${one ? '#000' : '#444'}">`
      + `${one ? `1.0× = ${esc(ref)}` : `${r.toFixed(1)}×`}</text>`);
    parts.push(`<text x="${gx}" y="${height - 10}" font-size="11" text-anchor="middle" fill="#444">${r.toFixed(1)}×</text>`);
  }
  results.forEach((job, gi) => {
    const gy = top + gi * groupH;
    if (gi % 2 === 0) parts.push(`<rect x="0" y="${gy - GROUP_PAD / 2 + 2}" width="${WIDTH}" height="${groupH}" fill="#f5f5f5"/>`);
    const med = (t: string) => num(job.targets[t]?.median);
    const base = med(ref);
    // Two lines: what the job does, then first touch/rewrite, the unit and the reference's value.
    const m = /^(.*?)\s*\(([^)]*)\)$/.exec(job.job);
    const what = m ? m[1]! : job.job;
    const detail = [m?.[2], job.metric, `${ref} = ${fmt(base, job.metric)}`].filter(Boolean).join(' · ');
    parts.push(`<text x="${LEFT - 10}" y="${gy + 14}" font-size="13" text-anchor="end" font-weight="bold">${esc(what)}</text>`);
    parts.push(`<text x="${LEFT - 10}" y="${gy + 31}" font-size="12" text-anchor="end" fill="#333">${esc(detail)}</text>`);
    targets.forEach((t, i) => {
      const v = med(t);
      const r = v / base;
      const by = gy + i * (BAR_H + GAP);
      const w = Number.isFinite(r) ? x(r) - LEFT : 0;
      parts.push(`<rect x="${LEFT}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color(t, i)}"/>`);
      if (Number.isFinite(r) && r > MAX_RATIO) {
        parts.push(`<path d="M${x(MAX_RATIO) - 8},${by} l8,${BAR_H / 2} l-8,${BAR_H / 2} z" fill="#fff"/>`);
      }
      const label = Number.isFinite(r) ? `${r.toFixed(2)}  (${fmt(v, job.metric)})` : 'n/a';
      parts.push(`<text x="${LEFT + w + 5}" y="${by + BAR_H - 2}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">`
        + `${label}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"`
    + ` font-family="DejaVu Sans, Arial, sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

/** The chart of a comparison's results, titled and captioned from its meta. */
export function comparisonChart(
  results: JobResult[], meta: Pick<Meta, 'imageMiB' | 'reps' | 'date'>, colors: Record<string, string>,
): string {
  const targets = targetNames(results);
  const ref = chartReference(targets);
  return svgChart({
    title: `trackfs benchmark: throughput relative to ${ref === ROLE.peer ? 'qemu-storage-daemon' : ref} (higher is better)`,
    subtitle: `${meta.imageMiB} MiB image, medians of ${meta.reps} interleaved repetitions, ${meta.date.slice(0, 10)}`
      + '; bar label: ratio (absolute value)',
    results,
    targets,
    ref,
    colors,
  });
}
