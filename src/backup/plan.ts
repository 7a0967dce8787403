/**
 * Which base a backup copies from: pure logic over what the source, TARGET and its sidecar say.
 * A TARGET that cannot be told apart from a copy of something else is refused, never overwritten
 * on a guess; a run interrupted earlier is redone from the base it was copying from.
 */
import { parseCheckpointId, resolveCheckpoint } from '../journal/checkpoint-id.js';
import { ErrnoError } from '../util/errno.js';
import type { Sidecar } from './sidecar.js';

export interface PlanInput {
  target: string;
  sidecarPath: string;
  /** --since ID, --full */
  since?: string | undefined;
  full: boolean;
  targetExists: boolean;
  sidecar: Sidecar | null;
  /** A first run was interrupted before it created TARGET (its sidecar says in-progress). */
  interruptedFirstRun: boolean;
  source: { describe: string; imageSize: number; generation: string; latestCheckpoint: string };
}

export interface Plan {
  full: boolean;
  fullReason?: string;
  /** Checkpoint id to copy from (null: full). */
  base: string | null;
  /** This run redoes an interrupted one. */
  redo: boolean;
}

/** Picks the base; throws a one-line ErrnoError when TARGET must not be touched. */
export function planBackup(p: PlanInput): Plan {
  const plan = choose(p);
  if (p.interruptedFirstRun) plan.redo = true;
  if (plan.base !== null) {
    // Refuse a base that cannot be used now, before the sidecar is touched.
    const resolved = resolveCheckpoint(
      parseCheckpointId(plan.base),
      p.source.generation,
      parseCheckpointId(p.source.latestCheckpoint).number + 1,
    );
    if ('unavailable' in resolved) throw new ErrnoError('ESRCH', `${resolved.unavailable}; use --full for a full copy`);
  }
  return plan;
}

function choose(p: PlanInput): Plan {
  const { sidecar, source } = p;
  if (!p.targetExists) return { full: true, fullReason: 'target did not exist', base: null, redo: false };
  if (p.full) return { full: true, fullReason: '--full', base: null, redo: false };
  if (!sidecar) {
    throw new ErrnoError('EINVAL', `target ${p.target} exists but has no sidecar (${p.sidecarPath}): trackfs cannot tell what it holds; use --full to overwrite it with a full copy`);
  }
  if (sidecar.imageSize !== source.imageSize) throw new ErrnoError('EINVAL', `target ${p.target} is a copy of an image of ${sidecar.imageSize} bytes, not ${source.imageSize}`);
  if (p.since) return { full: false, base: p.since, redo: false };
  const redo = sidecar.state === 'in-progress';
  // An interrupted full copy (a re-base starts one) is redone in full, whatever history it was of.
  if (redo && (sidecar.running?.base ?? null) === null) return { full: true, fullReason: 'redoing an interrupted full copy', base: null, redo };
  if (sidecar.generation !== source.generation) {
    // TARGET is half-updated anyway, and the interrupted run may itself have re-based the journal.
    if (redo) return { full: true, fullReason: 'redoing an interrupted backup; the source\'s history started over since', base: null, redo };
    throw new ErrnoError('EINVAL', `target ${p.target} holds a copy of history ${sidecar.generation.slice(0, 12)}, but ${source.describe} is now at ${source.generation.slice(0, 12)} `
      + '(its journal was reset or re-based since): which clusters changed cannot be told; use --full');
  }
  if (redo) return { full: false, base: sidecar.running!.base!, redo };
  return { full: false, base: sidecar.checkpointId, redo };
}
