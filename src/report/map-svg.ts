/**
 * The change map as an SVG picture (`trackfs map --svg`): the same grid, legend and totals as the
 * terminal map, with colours for the shades. Cells of one shade next to each other in a row are
 * one rectangle. Pure: returns the document; `--png` converts it (map-png.ts).
 */
import type { ChangesSummary } from '../journal/changes.js';
import { cellNote, ChangeMap, LEVEL_NAMES, offsetLabel, totalsLine } from './change-map.js';

/** No change, then from a few clusters to nearly all (a sequential colour scale). */
export const LEVEL_COLOURS = ['#eeeeee', '#fdd49e', '#fc8d59', '#e34a33', '#b30000'] as const;

const CELL = 12;
const LEFT_PAD = 12;
const TOP = 44;
const FONT = 'font-family="DejaVu Sans Mono, monospace"';

/** Text as SVG character data: `&`, `<`, `>` and quotes escaped; control characters dropped. */
export function xmlText(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderSvg(map: ChangeMap, summary: ChangesSummary, title: string): string {
  const g = map.geometry;
  const labels = Array.from({ length: g.rows }, (_, r) => offsetLabel(r * g.columns * g.cellBytes));
  const labelW = 8 * Math.max(...labels.map((l) => l.length)) + 10;
  const gridX = LEFT_PAD + labelW;
  const gridW = g.columns * CELL;
  const legendY = TOP + g.rows * CELL + 24;
  const width = Math.max(gridX + gridW + LEFT_PAD, 760);
  const height = legendY + 60;
  const parts: string[] = [];
  parts.push(`<text x="${LEFT_PAD}" y="24" font-size="15" font-weight="bold" ${FONT}>${xmlText(title)}</text>`);
  for (let r = 0; r < g.rows; r++) {
    const y = TOP + r * CELL;
    parts.push(`<text x="${gridX - 6}" y="${y + CELL - 2}" font-size="11" text-anchor="end" ${FONT}>${labels[r]}</text>`);
    let c = 0;
    while (c < g.columns && r * g.columns + c < g.cells) {
      const level = map.level(r * g.columns + c);
      let end = c + 1;
      while (end < g.columns && r * g.columns + end < g.cells && map.level(r * g.columns + end) === level) end++;
      parts.push(`<rect x="${gridX + c * CELL}" y="${y}" width="${(end - c) * CELL}" height="${CELL}" fill="${LEVEL_COLOURS[level]}"/>`);
      c = end;
    }
  }
  parts.push(`<rect x="${gridX}" y="${TOP}" width="${gridW}" height="${g.rows * CELL}" fill="none" stroke="#888" stroke-width="1"/>`);
  LEVEL_NAMES.forEach((name, i) => {
    const x = LEFT_PAD + i * 130;
    parts.push(`<rect x="${x}" y="${legendY}" width="${CELL}" height="${CELL}" fill="${LEVEL_COLOURS[i]}" stroke="#888"/>`
      + `<text x="${x + CELL + 6}" y="${legendY + CELL - 2}" font-size="11" ${FONT}>${name}</text>`);
  });
  const note = xmlText(`of a cell's clusters changed; ${cellNote(g)}`);
  parts.push(`<text x="${LEFT_PAD}" y="${legendY + 32}" font-size="11" ${FONT}>${note}</text>`);
  parts.push(`<text x="${LEFT_PAD}" y="${legendY + 50}" font-size="11" ${FONT}>${xmlText(totalsLine(summary, map))}</text>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n`
    + `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n`
    + `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
