/** `trackfs checkpoint MOUNTPOINT|JOURNAL [--json]`: end the current epoch, print its id. */
import { askMount, resolveTarget } from './target.js';
import { offlineCheckpoint } from '../offline/journal-file.js';
import type { CheckpointReply } from '../control/protocol.js';
import { printable } from '../util/text.js';

export interface CheckpointOutcome extends CheckpointReply {
  source: 'mount' | 'journal';
}

export async function takeCheckpoint(name: string): Promise<CheckpointOutcome> {
  const target = await resolveTarget(name);
  if (target.kind === 'mount') {
    const r = await askMount(target, { op: 'checkpoint' });
    return { ...r, source: 'mount' };
  }
  return { ...(await offlineCheckpoint(target.path)), source: 'journal' };
}

export async function checkpointCommand(name: string, json: boolean): Promise<void> {
  const r = await takeCheckpoint(name);
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  if (r.rebased) {
    process.stderr.write(`trackfs: the journal was untrusted (${printable(r.rebasedFrom ?? '')}); it starts a new history here: the next backup from it must be full\n`);
  }
  // The id alone on stdout, so that `id=$(trackfs checkpoint /mnt/x)` works.
  process.stdout.write(`${r.id}\n`);
}
