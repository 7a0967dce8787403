/** `trackfs changes MOUNTPOINT|JOURNAL [--since ID] [--json]` */
import { askMount, resolveTarget } from './target.js';
import { offlineChanges } from './offline.js';
import type { ChangesReport } from '../journal/changes.js';
import { formatSize, formatSizeShort } from '../util/size.js';
import { CliError, EXIT } from './errors.js';
import { parseCheckpointId } from '../journal/checkpoint-id.js';
import { printable } from '../util/text.js';

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
    + `${r.changedClusters} of ${r.totalClusters} clusters of ${formatSizeShort(r.clusterSize)} marked since checkpoint ${r.since}; `
    + `latest checkpoint ${r.latestCheckpoint}; `
    + (r.baseUnavailable ? `WHOLE IMAGE: ${printable(r.fullImage ?? '')}` : r.trusted ? 'trusted' : `UNTRUSTED: ${printable(r.reason ?? '')}`),
  );
  return lines.join('\n');
}

export async function changesCommand(name: string, since: string | null, json: boolean): Promise<number> {
  if (since !== null) checkIdSyntax(since);
  const target = await resolveTarget(name);
  const r = target.kind === 'mount' ? await askMount<ChangesReport>(target, { op: 'changes', since }, 120_000) : await offlineChanges(target.path, since);
  if (r.baseUnavailable) {
    process.stderr.write(`trackfs: ${printable(r.fullImage ?? '')}; listing the whole image (copy everything)\n`);
  } else if (!r.trusted) {
    process.stderr.write(`trackfs: warning: journal is untrusted (${printable(r.reason ?? '')}); extents cover the whole image\n`);
  }
  process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${formatChanges(r)}\n`);
  return r.baseUnavailable ? EXIT.baseUnavailable : EXIT.ok;
}

/** A malformed id is a usage error, found before anything is opened. */
export function checkIdSyntax(id: string): void {
  try {
    parseCheckpointId(id);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage);
  }
}
