/**
 * One backup run, for the CLI and for programs alike:
 *
 *   1. picks the base (plan.ts); refuses a TARGET that is part of the source, of another size, or
 *      of another history unless --full;
 *   2. marks the sidecar in-progress (before anything else is written: a run cut short at any
 *      later point is redone by the next one);
 *   3. with `checkpoint`, ends the source's epoch, so the set to copy is fixed;
 *   4. copies the changed ranges, fdatasyncs, verifies if asked;
 *   5. records the new base in the sidecar.
 */
import { open, stat } from 'node:fs/promises';
import type { ChangeStream, ChangesSummary, Extent } from '../journal/changes.js';
import { formatCheckpointId, parseCheckpointId } from '../journal/checkpoint-id.js';
import type { CheckpointReply } from '../control/protocol.js';
import { ErrnoError, errnoNameOf, messageOf } from '../util/errno.js';
import { firstSameFile, isInside } from '../util/same-file.js';
import { fsError, unreachable } from '../util/fs-errors.js';
import { printable } from '../util/text.js';
import { inspectImage } from '../volume/image.js';
import { copyExtents } from './copy.js';
import { planBackup, type Plan } from './plan.js';
import { readSidecar, sidecarPathFor, writeSidecar, SIDECAR_FORMAT, type Sidecar } from './sidecar.js';
import type { BackupSource } from './source.js';

export interface BackupOptions {
  target: string;
  /** Copy what changed after this checkpoint id instead of the sidecar's. */
  since?: string | undefined;
  checkpoint: boolean;
  full: boolean;
  verify: boolean;
  /** Where TARGET's state is kept (default TARGET.trackfs-backup). */
  sidecar?: string | undefined;
}

/** What the caller may watch; all optional. */
export interface BackupHooks {
  /** Called just before the first write (the sidecar): from here on an interruption leaves a redo. */
  touched?(): void;
  /** The copy starts (`total` bytes) and moves on. */
  copyStarted?(total: number): void;
  copyProgress?(done: number): void;
  copyEnded?(): void;
  /** A warning or a note for the user (one line). */
  say?(line: string): void;
  /** Test hook: awaited once the first chunk is in TARGET (the copy is then under way). */
  afterFirstChunk?(): Promise<void>;
}

export interface BackupSummary {
  source: string;
  target: string;
  sidecar: string;
  full: boolean;
  fullReason: string | null;
  base: string | null;
  checkpoint: string | null;
  targetAt: string;
  redo: boolean;
  extents: number;
  imageSize: number;
  copiedBytes: number;
  writtenBytes: number;
  copiedPercent: number;
  seconds: number;
  bytesPerSecond: number | null;
  verified: number | null;
}

/** A refusal that is the command line's fault (exit 2 in the CLI). */
export class BackupUsageError extends ErrnoError {}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/**
 * Neither TARGET nor its sidecar may be a file of the source (a sidecar is replaced by rename: as
 * the image's or the journal's name, it would take their place), nor the sidecar TARGET itself.
 */
async function refuseSourceFiles(src: BackupSource, target: string, sidecar: string): Promise<void> {
  const targetClash = await firstSameFile(target, src.ownFiles);
  if (targetClash) throw new ErrnoError('EINVAL', `target ${target} is ${targetClash}, part of the source itself`);
  const sidecarClash = await firstSameFile(sidecar, [...src.ownFiles, ['the backup target', target]]);
  if (sidecarClash) throw new ErrnoError('EINVAL', `sidecar ${sidecar} is ${sidecarClash}; name another file with --sidecar`);
  if (src.mountpoint && (await isInside(sidecar, src.mountpoint))) {
    throw new ErrnoError('EINVAL', `sidecar ${sidecar} is inside the source's mountpoint ${src.mountpoint}; name another file with --sidecar`);
  }
}

/** TARGET as it is now: absent, or its size. Creates nothing. */
async function inspectTarget(path: string): Promise<{ exists: false } | { exists: true; size: number; blockDevice: boolean }> {
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
    throw unreachable('target', path, e);
  }
  const facts = await inspectImage(path).catch((e: unknown) => { throw new ErrnoError('EINVAL', messageOf(e).replace(/^image /, 'target ')); });
  return { exists: true, size: facts.size, blockDevice: facts.isBlockDevice };
}

async function createSparseTarget(path: string, size: number): Promise<void> {
  try {
    const h = await open(path, 'wx', 0o600);
    await h.truncate(size);
    await h.close();
  } catch (e) {
    throw fsError('cannot create target', path, e);
  }
}

export async function runBackup(src: BackupSource, opts: BackupOptions, hooks: BackupHooks = {}): Promise<BackupSummary> {
  const started = Date.now();
  const sidecarPath = opts.sidecar ?? sidecarPathFor(opts.target);
  await refuseSourceFiles(src, opts.target, sidecarPath);
  const t = await inspectTarget(opts.target);
  if (t.exists && t.blockDevice && opts.sidecar === undefined) {
    // Its state cannot live in /dev, where a reused device name would inherit it.
    throw new BackupUsageError('EINVAL', `target ${opts.target} is a block device: name where its backup state is kept with --sidecar FILE`);
  }
  if (t.exists && t.size !== src.imageSize) throw new ErrnoError('EINVAL', `target ${opts.target} has ${t.size} bytes, the source has ${src.imageSize}; a target must be the same size`);
  let interruptedFirstRun = false;
  if (!t.exists && opts.sidecar === undefined && (await exists(sidecarPath))) {
    // A first run interrupted before it created TARGET left an in-progress sidecar: just redo it.
    const left = await readSidecar(sidecarPath).catch(() => null);
    if (left?.state !== 'in-progress') throw new ErrnoError('EEXIST', `target ${opts.target} does not exist but its sidecar ${sidecarPath} does; remove the sidecar to start a new backup`);
    interruptedFirstRun = true;
  }
  const sidecar = t.exists ? await readSidecar(sidecarPath) : null;
  const plan: Plan = planBackup({
    target: opts.target, sidecarPath, since: opts.since, full: opts.full, targetExists: t.exists, sidecar, interruptedFirstRun, source: src,
  });
  const say = (line: string) => hooks.say?.(printable(line));
  if (plan.redo) say(`the previous backup into ${opts.target} was interrupted; redoing it from ${plan.base ?? 'a full copy'}`);

  // In progress from before the checkpoint: a run cut short after a re-base is then redone in full.
  const base: Sidecar = sidecar ?? {
    format: SIDECAR_FORMAT, imageSize: src.imageSize, clusterSize: src.clusterSize, generation: src.generation, checkpoint: 0,
    checkpointId: formatCheckpointId(src.generation, 0), state: 'in-progress', source: src.describe, updatedAt: '', runs: [],
  };
  const markRunning = (to: string | null) => writeSidecar(sidecarPath, {
    ...base, state: 'in-progress', running: { startedAt: new Date(started).toISOString(), base: plan.base, to, full: plan.full },
  });
  hooks.touched?.();
  await markRunning(null);

  let cp: CheckpointReply | null = null;
  if (opts.checkpoint) {
    cp = await src.checkpoint();
    if (cp.rebased) {
      plan.full = true;
      plan.fullReason = `the journal was untrusted (${cp.rebasedFrom}) and was re-based at this checkpoint`;
      plan.base = null;
    }
  }

  // What to copy. The list is taken after the checkpoint: it may hold writes made since, which is
  // harmless (they are copied again next time); it cannot miss one made before.
  let report: ChangesSummary | null = null;
  const whole: Extent[][] = [[{ offset: 0, length: src.imageSize }]];
  let batches: ChangeStream['batches'] = whole;
  let total = src.imageSize;
  if (!plan.full) {
    const list = await src.changes(plan.base);
    report = list.summary;
    if (report.baseUnavailable) throw new ErrnoError('ESRCH', `${report.fullImage}; use --full for a full copy`);
    if (!report.trusted) {
      plan.full = true;
      plan.fullReason = `the journal is untrusted: ${report.reason}`;
      say(`warning: ${plan.fullReason}; copying the whole image`);
    }
    batches = list.batches;
    total = report.changedBytes;
  }
  // Where TARGET will stand once the copy is done.
  let endGeneration: string;
  let endCheckpoint: number;
  if (cp) {
    endGeneration = cp.generation;
    endCheckpoint = cp.checkpoint;
  } else {
    // No checkpoint taken: TARGET holds at least everything up to the latest checkpoint that
    // existed when the list was made (anything later is in "changes since" that checkpoint).
    const latest = parseCheckpointId(report?.latestCheckpoint ?? (await src.changes(null)).summary.latestCheckpoint);
    endGeneration = report?.generation ?? src.generation;
    endCheckpoint = latest.number;
    if (!endGeneration.startsWith(latest.generation)) throw new ErrnoError('EAGAIN', 'the source\'s history changed during the backup; run it again');
  }

  const toId = cp ? cp.id : null;
  if (cp) await markRunning(toId);
  if (!t.exists) await createSparseTarget(opts.target, src.imageSize);

  hooks.copyStarted?.(total);
  let result;
  try {
    result = await copyExtents(src.dataPath, opts.target, batches, {
      sparseTarget: !t.exists,
      verify: opts.verify,
      onProgress: (done) => hooks.copyProgress?.(done),
      ...(hooks.afterFirstChunk ? { afterFirstChunk: hooks.afterFirstChunk } : {}),
    });
  } catch (e) {
    throw new ErrnoError(errnoNameOf(e), `backup failed: ${fsError('cannot copy from', src.dataPath, e).message}; ${opts.target} is incomplete and the next run redoes it`);
  } finally {
    hooks.copyEnded?.();
  }
  if (result.mismatchedChunks > 0) {
    const first = result.mismatches[0]!;
    throw new ErrnoError('EIO', `verification failed: ${result.mismatchedChunks} chunk(s) of ${opts.target} differ from what was copied (first at offset ${first.offset}); the target is left marked incomplete`);
  }
  const seconds = (Date.now() - started) / 1000;
  const endId = formatCheckpointId(endGeneration, endCheckpoint);
  await writeSidecar(sidecarPath, {
    ...base,
    format: SIDECAR_FORMAT,
    imageSize: src.imageSize,
    clusterSize: src.clusterSize,
    generation: endGeneration,
    checkpoint: endCheckpoint,
    checkpointId: endId,
    state: 'complete',
    running: undefined,
    source: src.describe,
    runs: [
      ...base.runs,
      {
        at: new Date().toISOString(),
        base: plan.base,
        to: toId,
        copiedBytes: result.copiedBytes,
        imageSize: src.imageSize,
        full: plan.full,
        seconds,
      },
    ],
  });
  return {
    source: src.describe,
    target: opts.target,
    sidecar: sidecarPath,
    full: plan.full,
    fullReason: plan.fullReason ?? null,
    base: plan.base,
    checkpoint: toId,
    targetAt: endId,
    redo: plan.redo,
    extents: result.extents,
    imageSize: src.imageSize,
    copiedBytes: result.copiedBytes,
    writtenBytes: result.writtenBytes,
    copiedPercent: src.imageSize ? Number(((100 * result.copiedBytes) / src.imageSize).toFixed(3)) : 0,
    seconds: Number(seconds.toFixed(3)),
    bytesPerSecond: seconds > 0 ? Math.round(result.copiedBytes / seconds) : null,
    verified: opts.verify ? result.verifiedChunks : null,
  };
}
