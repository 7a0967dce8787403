/**
 * `trackfs map`: where the changes are, as a grid of cells, each a slice of the image shaded by
 * the fraction of its clusters that changed. Built from the change stream as it arrives (each
 * extent adds its clusters to the cells it covers), so a list of millions of extents never sits
 * in memory, and the image is never read. Pure: rendering returns text.
 */
import type { ChangesSummary, Extent } from '../journal/changes.js';
import { formatSize, formatSizeShort } from '../util/size.js';
import { printable } from '../util/text.js';

/** Rows a map has at most by default: enough to see a pattern, few enough for a terminal. */
export const DEFAULT_MAX_ROWS = 32;
export const MAX_WIDTH = 1024;

export interface MapGeometry {
  imageSize: number;
  clusterSize: number;
  /** Bytes per cell: the cluster size times a power of two, so row offsets are round numbers. */
  cellBytes: number;
  clustersPerCell: number;
  cells: number;
  columns: number;
  rows: number;
}

/** The smallest cell (a power-of-two number of clusters) that fits the image in `columns` x `maxRows` cells. */
export function mapGeometry(imageSize: number, clusterSize: number, columns: number, maxRows = DEFAULT_MAX_ROWS): MapGeometry {
  const totalClusters = Math.ceil(imageSize / clusterSize);
  let clustersPerCell = 1;
  while (Math.ceil(totalClusters / clustersPerCell) > columns * maxRows) clustersPerCell *= 2;
  const cells = Math.max(1, Math.ceil(totalClusters / clustersPerCell));
  const cols = Math.min(columns, cells);
  const cellBytes = clustersPerCell * clusterSize;
  return { imageSize, clusterSize, cellBytes, clustersPerCell, cells, columns: cols, rows: Math.ceil(cells / cols) };
}

/** Changed clusters per cell, counted from extents as they arrive. */
export class ChangeMap {
  readonly changed: Float64Array;
  private readonly totalClusters: number;

  constructor(readonly geometry: MapGeometry) {
    this.changed = new Float64Array(geometry.cells);
    this.totalClusters = Math.ceil(geometry.imageSize / geometry.clusterSize);
  }

  /** Adds sorted, disjoint extents: each cell they cover gains the clusters it shares with them. */
  add(extents: readonly Extent[]): void {
    const { clusterSize, clustersPerCell: k } = this.geometry;
    for (const e of extents) {
      if (e.length <= 0) continue;
      const c0 = Math.floor(e.offset / clusterSize);
      const c1 = Math.min(this.totalClusters, Math.ceil((e.offset + e.length) / clusterSize)) - 1;
      if (c1 < c0) continue;
      const first = Math.floor(c0 / k);
      const last = Math.floor(c1 / k);
      if (first === last) {
        this.changed[first]! += c1 - c0 + 1;
        continue;
      }
      this.changed[first]! += (first + 1) * k - c0;
      for (let cell = first + 1; cell < last; cell++) this.changed[cell]! += k;
      this.changed[last]! += c1 - last * k + 1;
    }
  }

  /** Counts every cell at once from a count of changed clusters per range (an offline bitmap). */
  addCounts(countClusters: (first: number, count: number) => number): void {
    const k = this.geometry.clustersPerCell;
    for (let cell = 0; cell < this.geometry.cells; cell++) this.changed[cell]! += countClusters(cell * k, this.clustersIn(cell));
  }

  /** Clusters the cell holds (the last one may hold fewer). */
  clustersIn(cell: number): number {
    return Math.min(this.geometry.clustersPerCell, this.totalClusters - cell * this.geometry.clustersPerCell);
  }

  fraction(cell: number): number {
    return this.changed[cell]! / this.clustersIn(cell);
  }

  /** 0: nothing changed; 1-4: up to a quarter, half, three quarters, more. */
  level(cell: number): number {
    const f = this.fraction(cell);
    if (f <= 0) return 0;
    return f <= 0.25 ? 1 : f <= 0.5 ? 2 : f <= 0.75 ? 3 : 4;
  }

  changedClusters(): number {
    let n = 0;
    for (const v of this.changed) n += v;
    return n;
  }
}

export type Charset = 'unicode' | 'ascii';

/** Shades for levels 0-4. */
export const SHADES: Record<Charset, readonly string[]> = {
  unicode: ['·', '░', '▒', '▓', '█'],
  ascii: ['.', '-', '+', '*', '#'],
};

export const LEVEL_NAMES = ['no change', 'up to 25%', 'up to 50%', 'up to 75%', 'over 75%'] as const;

/**
 * Unicode shading on a terminal whose locale is UTF-8; plain ASCII when the output is not a
 * terminal, the locale is not UTF-8, or NO_COLOR is set (to anything but the empty string).
 */
export function chooseCharset(isTTY: boolean, env: NodeJS.ProcessEnv): Charset {
  if (!isTTY || (env['NO_COLOR'] ?? '') !== '') return 'ascii';
  const locale = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(locale) ? 'unicode' : 'ascii';
}

/** The row's offset, exact: 0, 512K, 16G ... */
export function offsetLabel(bytes: number): string {
  return bytes === 0 ? '0' : formatSizeShort(bytes);
}

/** What a map shows about its list, one line. */
export function totalsLine(s: ChangesSummary, map: ChangeMap): string {
  const changed = map.changedClusters();
  const total = Math.ceil(s.imageSize / s.clusterSize);
  const pct = total > 0 ? ((100 * changed) / total).toFixed(changed === total || changed === 0 ? 0 : 2) : '0';
  const range = `since checkpoint ${s.since}${s.until ? ` until ${s.until}` : ''}`;
  const trust = s.baseUnavailable ? `WHOLE IMAGE: ${printable(s.fullImage ?? '')}`
    : s.trusted ? 'trusted' : `UNTRUSTED: ${printable(s.reason ?? '')}`;
  return `${changed} of ${total} clusters changed (${pct}%), ${formatSize(Math.min(s.imageSize, changed * s.clusterSize))} of `
    + `${formatSize(s.imageSize)}, ${range}; ${trust}`;
}

/** What one cell stands for. */
export function cellNote(g: MapGeometry): string {
  return `a cell is ${formatSize(g.cellBytes)} (${g.clustersPerCell} cluster(s) of ${formatSizeShort(g.clusterSize)})`;
}

export function legendLine(map: ChangeMap, charset: Charset): string {
  const shades = SHADES[charset].map((ch, i) => `${ch} ${LEVEL_NAMES[i]}`).join('  ');
  return `${shades} of a cell's clusters changed; ${cellNote(map.geometry)}`;
}

/** The map as terminal text: one row per line, its offset first; then the legend and totals. */
export function renderText(map: ChangeMap, summary: ChangesSummary, charset: Charset): string {
  const g = map.geometry;
  const shades = SHADES[charset];
  const labels = Array.from({ length: g.rows }, (_, r) => offsetLabel(r * g.columns * g.cellBytes));
  const w = Math.max(...labels.map((l) => l.length));
  const bar = charset === 'unicode' ? '│' : '|';
  const lines: string[] = [];
  for (let r = 0; r < g.rows; r++) {
    let row = '';
    for (let c = 0; c < g.columns; c++) {
      const cell = r * g.columns + c;
      row += cell < g.cells ? shades[map.level(cell)] : ' ';
    }
    lines.push(`${labels[r]!.padStart(w)} ${bar}${row}${bar}`);
  }
  lines.push(legendLine(map, charset));
  lines.push(totalsLine(summary, map));
  return `${lines.join('\n')}\n`;
}
