/** Writing a run's results: latest.{json,md,svg,png} or knobs.{json,md}, and redrawing a chart. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { comparisonChart } from './chart.js';
import { renderKnobsMarkdown, renderMarkdown } from './report.js';
import type { ComparisonReport, KnobsReport } from './results.js';
import { ensureCommand } from './tools.js';

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Renders the SVG to PNG with rsvg-convert (installs librsvg2-bin when missing); a note when it cannot. */
function renderPng(svg: string, png: string): string | null {
  if (!ensureCommand('rsvg-convert', ['librsvg2-bin'])) return 'PNG skipped: rsvg-convert (librsvg2-bin) could not be installed';
  const r = spawnSync('rsvg-convert', ['-f', 'png', '-b', 'white', '-o', png, svg], { encoding: 'utf8' });
  return r.status === 0 ? null : `PNG skipped: rsvg-convert failed: ${r.stderr.trim().split('\n')[0]}`;
}

/** Writes latest.svg and latest.png; returns a note when the PNG could not be made. */
function writeChart(out: string, report: Pick<ComparisonReport, 'results' | 'meta'>, colors: Record<string, string>): string | null {
  writeFileSync(join(out, 'latest.svg'), comparisonChart(report.results, report.meta, colors));
  return renderPng(join(out, 'latest.svg'), join(out, 'latest.png'));
}

/**
 * Writes latest.md, the chart, then latest.json (with the chart's note, if any, and the duration
 * up to then); prints the markdown.
 */
export function writeComparison(out: string, report: ComparisonReport, colors: Record<string, string>, startedAt: number): void {
  mkdirSync(out, { recursive: true });
  const md = renderMarkdown(report);
  writeFileSync(join(out, 'latest.md'), md);
  const pngNote = writeChart(out, report, colors);
  if (pngNote) { report.meta.notes.push(pngNote); console.log(`bench: ${pngNote}`); }
  report.meta.durationSeconds = Math.round((Date.now() - startedAt) / 1000);
  writeFileSync(join(out, 'latest.json'), json(report));
  console.log(`\n${md}\nwrote ${out}/latest.{json,md,svg${pngNote ? '' : ',png'}} in ${report.meta.durationSeconds} s`);
}

export function writeKnobs(out: string, report: KnobsReport): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'knobs.json'), json(report));
  const md = renderKnobsMarkdown(report);
  writeFileSync(join(out, 'knobs.md'), md);
  console.log(`\n${md}\nwrote ${out}/knobs.{json,md} in ${report.meta.durationSeconds} s`);
}

/** `--render FILE`: redraws the chart of an earlier latest.json (no measuring). */
export function renderOnly(file: string, out: string, colors: Record<string, string>): void {
  const report = JSON.parse(readFileSync(file, 'utf8')) as ComparisonReport;
  mkdirSync(out, { recursive: true });
  const note = writeChart(out, report, colors);
  console.log(note ?? `wrote ${out}/latest.svg and latest.png`);
}
