/** `trackfs status MOUNTPOINT|JOURNAL [--json]` */
import { askMount, resolveTarget } from './target.js';
import { offlineStatus } from '../offline/journal-file.js';
import { formatSize, formatSizeShort } from '../util/size.js';
import { EXIT } from './errors.js';
import { printable } from '../util/text.js';
import type { JournalStatus, MountStatus } from '../control/protocol.js';

type Status = MountStatus | JournalStatus;

/** One line of the table; what it shows may come from a file or another user: escaped. */
function row(label: string, value: unknown): string {
  return `${label.padEnd(13)}${printable(String(value))}`;
}

/** Which path serves the volume, and how many requests each has served. */
function dataPathLine(s: MountStatus): string | null {
  const d = s.dataPath;
  if (!d) return null;
  const js = `${d.javascript.reads} reads, ${d.javascript.writes} writes in JavaScript`;
  if (!d.native) return row('data path', `javascript (${d.reason ?? 'no native path'}); ${js}`);
  const n = d.native;
  const native = `${n.reads} reads, ${n.writes} rewrites in C`;
  return row('data path', d.path === 'native' ? `native: ${native}; ${js}` : `javascript (${d.reason ?? ''}); ${native} before; ${js}`);
}

/** What status says of a journal disk that failed before changes were synced (ordered mode). */
function durabilityLines(s: MountStatus): string[] {
  const lines: string[] = [];
  const loss = s.durabilityLoss;
  if (loss) {
    const failed = `the journal's disk failed at ${loss.at} before changes were synced (${loss.error})`;
    lines.push(row('disk failure', loss.record
      ? `${failed}; ${loss.clusters} cluster(s) kept in ${loss.record}${loss.restoredAt ? `; durable in the journal again since ${loss.restoredAt}` : ''}`
      : `${failed}; the record of them could not be written (${loss.recordError ?? 'unknown'})`));
  }
  if (s.durabilityRecords) lines.push(row('state dir', `durability records ${s.durabilityRecords}`));
  return lines;
}

export function formatStatus(s: Status): string {
  const lines: string[] = [];
  const size = typeof s.imageSize === 'number' ? ` (${formatSize(s.imageSize)})` : '';
  if (s.source === 'mount') {
    lines.push(row('mountpoint', s.mountpoint));
    lines.push(row('state', `${s.state} since ${s.stateSince} (${s.stateReason})`));
    lines.push(row('daemon', `pid ${s.pid}, log ${s.logFile ?? 'stderr'}`));
  } else {
    lines.push(row('journal', s.journal));
    const live = s.liveOwner ? ` (live: trackfs pid ${s.liveOwner})` : s.inUse ? ' (in use: locked by another process)' : '';
    lines.push(row('state', `${s.journalState}${live}`));
  }
  lines.push(row('image', `${s.image}${size}`));
  if (s.source === 'mount') {
    lines.push(row('journal', `${s.journal} (${s.journalState})`));
    const markAhead = s.markAhead > 0 ? `, marks ${formatSizeShort(s.markAhead)} ahead of long sequential writes` : '';
    lines.push(row('durability', `${s.durability}${s.readOnly ? ', read-only' : ''}${s.tracking ? '' : ', TRACKING OFF'}${markAhead}`));
  } else {
    lines.push(row('durability', s.durability));
  }
  const cs = typeof s.clusterSize === 'number' ? formatSizeShort(s.clusterSize) : '?';
  const epochNote = typeof s.epoch === 'number' && s.epoch > 1 ? ` since checkpoint ${s.latestCheckpoint}` : '';
  lines.push(row('clusters', `${s.changedClusters} of ${s.totalClusters} changed${epochNote} (${cs} each)`));
  lines.push(row('generation', s.generation));
  if (s.latestCheckpoint) {
    lines.push(row('checkpoint', s.lastCheckpointAt ? `${s.latestCheckpoint} at ${s.lastCheckpointAt}` : `none yet (${s.latestCheckpoint} is the start of the history)`));
  }
  lines.push(row('trusted', s.trusted ? 'yes' : `NO: ${s.reason ?? 'unknown reason'}`));
  if (s.source === 'mount') lines.push(...durabilityLines(s));
  if (s.source === 'mount') {
    lines.push(row('last commit', `${s.lastCommitAt ?? 'none yet'} (${s.commits} commits, ${s.syncs} syncs)`));
    lines.push(row('open', `${s.openHandles} descriptor(s), ${s.inFlight} request(s) in flight`));
    const dp = dataPathLine(s);
    if (dp) lines.push(dp);
    const err = s.lastError;
    const parts: string[] = [];
    if (err || s.failedWrites) parts.push(`${s.failedWrites} write(s) refused by the journal${err ? `; last journal error: ${err.code} ${err.message} at ${err.at}` : ''}`);
    if (s.imageErrors) parts.push(`${s.imageErrors} image I/O error(s)`);
    if (s.stuckCalls) parts.push(`${s.stuckCalls} call(s) on the image given up on at their time limit (a stalled device; some may have returned since)`);
    lines.push(row('errors', parts.length ? parts.join('; ') : 'none'));
  } else {
    lines.push(row('updated', s.updatedAt));
  }
  for (const e of s.events) lines.push(row('event', e));
  return lines.join('\n');
}

export async function statusCommand(name: string, json: boolean): Promise<number> {
  const target = await resolveTarget(name);
  const s: Status = target.kind === 'mount' ? await askMount(target, { op: 'status' }) : await offlineStatus(target.path);
  process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
  return EXIT.ok;
}
