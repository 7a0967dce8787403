/** `trackfs changes MOUNTPOINT|JOURNAL [--json]` */
import { askMount, resolveTarget } from './target.js';
import { offlineChanges } from './offline.js';
import type { ChangesReport } from '../journal/changes.js';
import { formatSize, formatSizeShort } from '../util/size.js';
import { EXIT } from './errors.js';

const MAX_TABLE_ROWS = 200;

export function formatChanges(r: ChangesReport): string {
  const lines: string[] = [];
  const shown = r.extents.slice(0, MAX_TABLE_ROWS);
  if (shown.length > 0) {
    const w = Math.max(6, String(r.imageSize).length);
    lines.push(`${'OFFSET'.padStart(w)}  ${'LENGTH'.padStart(w)}  SIZE`);
    for (const e of shown) lines.push(`${String(e.offset).padStart(w)}  ${String(e.length).padStart(w)}  ${formatSize(e.length)}`);
    if (r.extents.length > shown.length) lines.push(`... ${r.extents.length - shown.length} more extent(s); use --json for all`);
  }
  const pct = r.imageSize > 0 ? ((100 * r.changedBytes) / r.imageSize).toFixed(r.changedBytes === r.imageSize ? 0 : 2) : '0';
  lines.push(
    `${r.extents.length} extent(s), ${formatSize(r.changedBytes)} of ${formatSize(r.imageSize)} (${pct}%) to copy; `
    + `${r.changedClusters} of ${r.totalClusters} clusters of ${formatSizeShort(r.clusterSize)} marked; generation ${r.generation}; `
    + (r.trusted ? 'trusted' : `UNTRUSTED: ${r.reason}`),
  );
  return lines.join('\n');
}

export async function changesCommand(name: string, json: boolean): Promise<number> {
  const target = await resolveTarget(name);
  const r = target.kind === 'mount' ? await askMount<ChangesReport>(target, { op: 'changes' }) : await offlineChanges(target.path);
  if (!r.trusted) {
    process.stderr.write(`trackfs: warning: journal is untrusted (${r.reason}); extents cover the whole image\n`);
  }
  process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${formatChanges(r)}\n`);
  return EXIT.ok;
}
