/** `trackfs status MOUNTPOINT|JOURNAL [--json]` */
import { askMount, resolveTarget } from './target.js';
import { offlineStatus } from './offline.js';
import { formatSize, formatSizeShort } from '../util/size.js';
import { EXIT } from './errors.js';
import { printable } from '../util/text.js';

type Status = Record<string, unknown> & {
  trusted?: boolean | null;
  lastError?: { code: string; message: string; at: string } | null;
  events?: string[];
};

/** One line of the table; what it shows may come from a file or another user: escaped. */
function row(label: string, value: unknown): string {
  return `${label.padEnd(13)}${printable(String(value))}`;
}

export function formatStatus(s: Status): string {
  const lines: string[] = [];
  const size = typeof s['imageSize'] === 'number' ? ` (${formatSize(s['imageSize'] as number)})` : '';
  if (s['source'] === 'mount') {
    lines.push(row('mountpoint', s['mountpoint']));
    lines.push(row('state', `${s['state']} since ${s['stateSince']} (${s['stateReason']})`));
    lines.push(row('daemon', `pid ${s['pid']}, log ${s['logFile'] ?? 'stderr'}`));
  } else {
    lines.push(row('journal', s['journal']));
    const live = s['liveOwner'] ? ` (live: trackfs pid ${s['liveOwner']})` : s['inUse'] ? ' (in use: locked by another process)' : '';
    lines.push(row('state', `${s['journalState']}${live}`));
  }
  lines.push(row('image', `${s['image']}${size}`));
  if (s['source'] === 'mount') lines.push(row('journal', `${s['journal']} (${s['journalState']})`));
  lines.push(row('durability', `${s['durability']}${s['readOnly'] ? ', read-only' : ''}${s['tracking'] === false ? ', TRACKING OFF' : ''}${typeof s['markAhead'] === 'number' && s['markAhead'] > 0 ? `, marks ${formatSizeShort(s['markAhead'])} ahead of long sequential writes` : ''}`));
  const cs = typeof s['clusterSize'] === 'number' ? formatSizeShort(s['clusterSize'] as number) : '?';
  const epochNote = typeof s['epoch'] === 'number' && (s['epoch'] as number) > 1 ? ` since checkpoint ${s['latestCheckpoint']}` : '';
  lines.push(row('clusters', `${s['changedClusters']} of ${s['totalClusters']} changed${epochNote} (${cs} each)`));
  lines.push(row('generation', s['generation']));
  if (s['latestCheckpoint']) {
    lines.push(row('checkpoint', s['lastCheckpointAt'] ? `${s['latestCheckpoint']} at ${s['lastCheckpointAt']}` : `none yet (${s['latestCheckpoint']} is the start of the history)`));
  }
  lines.push(row('trusted', s['trusted'] ? 'yes' : `NO: ${s['reason'] ?? 'unknown reason'}`));
  if (s['source'] === 'mount') {
    lines.push(row('last commit', `${s['lastCommitAt'] ?? 'none yet'} (${s['commits']} commits, ${s['syncs']} syncs)`));
    lines.push(row('open', `${s['openHandles']} descriptor(s), ${s['inFlight']} request(s) in flight`));
    const err = s.lastError;
    const parts: string[] = [];
    if (err || s['failedWrites']) parts.push(`${s['failedWrites']} write(s) refused by the journal${err ? `; last journal error: ${err.code} ${err.message} at ${err.at}` : ''}`);
    if (s['imageErrors']) parts.push(`${s['imageErrors']} image I/O error(s)`);
    lines.push(row('errors', parts.length ? parts.join('; ') : 'none'));
  } else {
    lines.push(row('updated', s['updatedAt']));
  }
  for (const e of s.events ?? []) lines.push(row('event', e));
  return lines.join('\n');
}

export async function statusCommand(name: string, json: boolean): Promise<number> {
  const target = await resolveTarget(name);
  const s: Status = target.kind === 'mount' ? await askMount<Status>(target, { op: 'status' }) : await offlineStatus(target.path);
  process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
  return EXIT.ok;
}
