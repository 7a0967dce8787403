/**
 * `trackfs changes MOUNTPOINT|JOURNAL [--since ID] [--json]`. The extents are printed as they
 * arrive (a list of millions of extents never sits in memory): --json writes the summary's fields,
 * then `"extents":[` and each batch, so the output is the one JSON object it always was.
 */
import { once } from 'node:events';
import { resolveTarget } from './target.js';
import { streamMount } from '../control/ask.js';
import { offlineChanges } from '../offline/journal-file.js';
import type { ChangeStream, ChangesSummary, Extent } from '../journal/changes.js';
import { formatSize, formatSizeShort } from '../util/size.js';
import { printable } from '../util/text.js';
import { CliError, EXIT } from './errors.js';
import { parseCheckpointId } from '../journal/checkpoint-id.js';


const MAX_TABLE_ROWS = 200;

/** The last line of the table: counts, bytes, and whether the list can be trusted. */
export function changesSummaryLine(r: ChangesSummary, extents: number): string {
  const pct = r.imageSize > 0 ? ((100 * r.changedBytes) / r.imageSize).toFixed(r.changedBytes === r.imageSize ? 0 : 2) : '0';
  return `${extents} extent(s), ${formatSize(r.changedBytes)} of ${formatSize(r.imageSize)} (${pct}%) to copy; `
    + `${r.changedClusters} of ${r.totalClusters} clusters of ${formatSizeShort(r.clusterSize)} marked since checkpoint ${r.since}; `
    + `latest checkpoint ${r.latestCheckpoint}; `
    + (r.baseUnavailable ? `WHOLE IMAGE: ${printable(r.fullImage ?? '')}` : r.trusted ? 'trusted' : `UNTRUSTED: ${printable(r.reason ?? '')}`);
}

/** Writes to stdout, waiting when the pipe is full (the reader sets the pace). */
async function out(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

async function printJson(list: ChangeStream): Promise<number> {
  const head = JSON.stringify(list.summary);
  await out(`${head.slice(0, -1)},"extents":[`);
  let n = 0;
  for await (const batch of list.batches) {
    if (batch.length === 0) continue;
    await out(`${n > 0 ? ',' : ''}${batch.map((e) => `{"offset":${e.offset},"length":${e.length}}`).join(',')}`);
    n += batch.length;
  }
  await out(']}\n');
  return n;
}

async function printTable(list: ChangeStream): Promise<number> {
  const w = Math.max(6, String(list.summary.imageSize).length);
  const row = (e: Extent) => `${String(e.offset).padStart(w)}  ${String(e.length).padStart(w)}  ${formatSize(e.length)}\n`;
  let n = 0;
  for await (const batch of list.batches) {
    for (const e of batch) {
      if (n === 0) await out(`${'OFFSET'.padStart(w)}  ${'LENGTH'.padStart(w)}  SIZE\n`);
      if (n < MAX_TABLE_ROWS) await out(row(e));
      n++;
    }
  }
  if (n > MAX_TABLE_ROWS) await out(`... ${n - MAX_TABLE_ROWS} more extent(s); use --json for all\n`);
  await out(`${changesSummaryLine(list.summary, n)}\n`);
  return n;
}

/** The change list of a mountpoint (streamed from its daemon) or of a journal file (offline). */
export async function openChanges(name: string, since: string | null): Promise<ChangeStream> {
  const target = await resolveTarget(name);
  if (target.kind === 'journal') return offlineChanges(target.path, since);
  const { result, items } = await streamMount(target, { op: 'changes', since });
  return { summary: result, batches: items };
}

export async function changesCommand(name: string, since: string | null, json: boolean): Promise<number> {
  if (since !== null) checkIdSyntax(since);
  const list = await openChanges(name, since);
  const r = list.summary;
  if (r.baseUnavailable) {
    process.stderr.write(`trackfs: ${printable(r.fullImage ?? '')}; listing the whole image (copy everything)\n`);
  } else if (!r.trusted) {
    process.stderr.write(`trackfs: warning: journal is untrusted (${printable(r.reason ?? '')}); extents cover the whole image\n`);
  }
  await (json ? printJson(list) : printTable(list));
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
