/**
 * The sidecar beside a backup target: which history (generation) and checkpoint the target is a
 * copy of, so the next run picks its base by itself; and whether a run was interrupted, so the
 * next one redoes it from the last base that is known to be complete. Written atomically (temp
 * file, fsync, rename, fsync of the directory): it is never half old, half new. Mode 0600.
 */
import { constants as fsConstants } from 'node:fs';
import { basename } from 'node:path';
import { parseCheckpointId } from '../journal/checkpoint-id.js';
import { replaceDurably } from '../util/durable-replace.js';
import { ErrnoError } from '../util/errno.js';
import { openExisting } from '../util/file-type.js';
import { fsError } from '../util/fs-errors.js';

export const SIDECAR_FORMAT = 'trackfs-backup/1';
export const SIDECAR_SUFFIX = '.trackfs-backup';

export interface BackupRun {
  at: string;
  /** Checkpoint id copied from, or null for a full copy. */
  base: string | null;
  /** Checkpoint id copied up to, or null when no checkpoint was taken. */
  to: string | null;
  copiedBytes: number;
  imageSize: number;
  full: boolean;
  seconds: number;
}

export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  imageSize: number;
  clusterSize: number;
  /** The source's generation (full hex) the target's contents belong to. */
  generation: string;
  /** The checkpoint number of that generation the target holds everything up to. */
  checkpoint: number;
  /** GENERATION:NUMBER of the same. */
  checkpointId: string;
  /** `in-progress`: a run started and did not finish; the target may be partly updated. */
  state: 'complete' | 'in-progress';
  /** The run under way (or interrupted). */
  running?: { startedAt: string; base: string | null; to: string | null; full: boolean };
  source: string;
  updatedAt: string;
  /** The last runs, newest last. */
  runs: BackupRun[];
}

const KEEP_RUNS = 20;

export function sidecarPathFor(target: string): string {
  return target + SIDECAR_SUFFIX;
}

export async function readSidecar(path: string): Promise<Sidecar | null> {
  let text: string;
  try {
    const h = await openExisting('backup sidecar', path, fsConstants.O_RDONLY, ['file']);
    try {
      text = await h.readFile('utf8');
    } finally {
      await h.close();
    }
  } catch (e) {
    if (e instanceof ErrnoError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ErrnoError('EIO', `cannot read backup sidecar ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let s: Sidecar;
  try {
    s = JSON.parse(text) as Sidecar;
  } catch {
    throw new ErrnoError('EINVAL', `backup sidecar ${path} is not valid JSON; move it away and use --full`);
  }
  if (s?.format !== SIDECAR_FORMAT) {
    throw new ErrnoError('EINVAL', `${path} is not a trackfs backup sidecar (format ${JSON.stringify(s?.format)}); move it away and use --full`);
  }
  const bad = badField(s);
  if (bad) throw new ErrnoError('EINVAL', `backup sidecar ${path} is damaged (${bad} is missing or invalid); move it away and use --full`);
  s.runs ??= [];
  return s;
}

function isCheckpointId(v: unknown): boolean {
  try {
    return typeof v === 'string' && parseCheckpointId(v) !== null;
  } catch {
    return false;
  }
}

/** The first field a backup relies on that is missing or of the wrong kind, or null. */
function badField(s: Sidecar): string | null {
  if (typeof s.generation !== 'string' || s.generation === '') return 'generation';
  if (!Number.isSafeInteger(s.checkpoint) || s.checkpoint < 0) return 'checkpoint';
  if (!isCheckpointId(s.checkpointId)) return 'checkpointId';
  if (!Number.isSafeInteger(s.imageSize) || s.imageSize <= 0) return 'imageSize';
  if (s.state !== 'complete' && s.state !== 'in-progress') return 'state';
  if (s.runs !== undefined && !Array.isArray(s.runs)) return 'runs';
  const base = s.running?.base;
  if (s.running !== undefined && (typeof s.running !== 'object' || (base !== null && !isCheckpointId(base)))) return 'running';
  return null;
}

export async function writeSidecar(path: string, s: Sidecar): Promise<void> {
  try {
    await writeAtomically(path, s);
  } catch (e) {
    throw fsError('cannot write backup sidecar', path, e);
  }
}

async function writeAtomically(path: string, s: Sidecar): Promise<void> {
  s.runs = s.runs.slice(-KEEP_RUNS);
  s.updatedAt = new Date().toISOString();
  await replaceDurably(path, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600, tmpPrefix: `.${basename(path)}` });
}
