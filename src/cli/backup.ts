/**
 * `trackfs backup SOURCE TARGET [--since ID] [--checkpoint] [--full] [--verify] [--json]`
 *
 * SOURCE is a trackfs mountpoint (live) or an image with its journal (offline). TARGET is an image
 * file (created as a full copy if missing) or block device of the same size. The sidecar beside
 * TARGET says which generation and checkpoint TARGET holds; the run:
 *
 *   1. picks the base: --since, else the sidecar's checkpoint (or, after an interrupted run, that
 *      run's base); refuses a TARGET of another size, or of another history unless --full;
 *   2. with --checkpoint, ends the source's epoch, so the set to copy is fixed;
 *   3. marks the sidecar in-progress, copies the changed ranges, fdatasyncs, verifies if asked;
 *   4. records the new base in the sidecar.
 *
 * A run that dies after step 3 began leaves the sidecar in-progress with its base: the next run
 * copies from that base again, which covers everything the dead run was copying.
 */
import { open, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import cliProgress from 'cli-progress';
import { askMount, resolveTarget } from './target.js';
import { offlineChanges, offlineStatus } from './offline.js';
import { takeCheckpoint, type CheckpointOutcome } from './checkpoint.js';
import { checkIdSyntax } from './changes.js';
import { EXIT, fail } from './errors.js';
import type { ChangesReport, Extent } from '../journal/changes.js';
import { formatCheckpointId, parseCheckpointId, resolveCheckpoint } from '../journal/checkpoint-id.js';
import { copyExtents } from '../backup/copy.js';
import { readSidecar, sidecarPathFor, writeSidecar, SIDECAR_FORMAT, type Sidecar } from '../backup/sidecar.js';
import { inspectImage } from '../volume/image.js';
import { VOLUME_NAME } from '../fuse/adapter.js';
import { formatSize } from '../util/size.js';
import { printable } from '../util/text.js';
import { firstSameFile, isInside, sameFile } from '../util/same-file.js';
import { fsError, unreachable } from '../util/fs-errors.js';

export interface BackupArgs {
  source: string;
  target: string;
  journal?: string;
  since?: string;
  checkpoint: boolean;
  full: boolean;
  verify: boolean;
  json: boolean;
  sidecar?: string;
  progress: boolean;
}

/** Where the data comes from and how to ask about its changes. */
interface Source {
  describe: string;
  dataPath: string;
  imageSize: number;
  clusterSize: number;
  generation: string;
  /** What `trackfs checkpoint` takes: the mountpoint or the journal file. */
  checkpointTarget: string;
  /** Files neither TARGET nor the sidecar may be: the image, the volume, the journal (label, path). */
  ownFiles: Array<readonly [string, string]>;
  /** The mountpoint of a live source: nothing of the backup's may be written inside it. */
  mountpoint: string | null;
  /** The newest checkpoint id when the backup began. */
  latestCheckpoint: string;
  changes(since: string | null): Promise<ChangesReport>;
}

async function openSource(name: string, journalOpt: string | undefined): Promise<Source> {
  let st;
  try {
    st = await stat(name);
  } catch (e) {
    fail(unreachable('source', name, e).message);
  }
  if (st.isDirectory()) {
    if (journalOpt) fail('--journal is for an offline source (an image); a mountpoint knows its journal');
    const target = await resolveTarget(name);
    if (target.kind !== 'mount') fail(`${name} is not a trackfs mountpoint`);
    const s = await askMount<Record<string, unknown>>(target, { op: 'status' });
    if (s['state'] !== 'active') fail(`cannot back up ${name}: the mount is ${s['state']}${s['state'] === 'ejected' ? ` (back up the image offline, or 'trackfs resume ${name}')` : ''}`);
    if (s['tracking'] === false) fail(`cannot back up ${name}: tracking is off on this mount`);
    return {
      describe: target.mountpoint,
      dataPath: join(target.mountpoint, VOLUME_NAME),
      imageSize: s['imageSize'] as number,
      clusterSize: s['clusterSize'] as number,
      generation: s['generation'] as string,
      checkpointTarget: target.mountpoint,
      ownFiles: [['the source volume', join(target.mountpoint, VOLUME_NAME)], ['the source image', s['image'] as string], ['the source journal', s['journal'] as string]],
      mountpoint: target.mountpoint,
      latestCheckpoint: s['latestCheckpoint'] as string,
      changes: (since) => askMount<ChangesReport>(target, { op: 'changes', since }, 120_000),
    };
  }
  // Offline: an image and its journal.
  const image = await inspectImage(name).catch((e) => fail((e as Error).message));
  const journal = journalOpt ?? `${name}.trackfs`;
  const s = await offlineStatus(journal).catch((e) => {
    if ((e as Error).message.includes('does not exist') && !journalOpt) fail(`journal ${journal} does not exist; name the journal with --journal`);
    throw e;
  });
  if (s['inUse']) {
    fail(s['liveOwner'] ? `journal ${journal} is in use by a live trackfs mount (pid ${s['liveOwner']}); back up from its mountpoint` : `journal ${journal} is in use (locked by another process: a trackfs mount or command); try again once it is done`);
  }
  if (s['imageSize'] !== image.size) fail(`journal ${journal} is for an image of ${s['imageSize']} bytes, but ${name} has ${image.size}`);
  const recorded = s['image'] as string;
  if (recorded && !isAbsolute(recorded)) fail(`journal ${journal} names its image as '${printable(recorded)}', not an absolute path: it was not written by trackfs mount`);
  if (recorded && !(await sameFile(recorded, name))) fail(`journal ${journal} tracks ${printable(recorded)}, not ${name}`);
  return {
    describe: name,
    dataPath: name,
    imageSize: image.size,
    clusterSize: s['clusterSize'] as number,
    generation: s['generation'] as string,
    checkpointTarget: journal,
    ownFiles: [['the source image', name], ['the source journal', journal]],
    mountpoint: null,
    latestCheckpoint: s['latestCheckpoint'] as string,
    changes: (since) => offlineChanges(journal, since),
  };
}

/**
 * Neither TARGET nor its sidecar may be a file of the source (a sidecar is replaced by rename: as
 * the image's or the journal's name, it would take their place), nor the sidecar TARGET itself.
 */
async function refuseSourceFiles(src: Source, target: string, sidecar: string): Promise<void> {
  const targetClash = await firstSameFile(target, src.ownFiles);
  if (targetClash) fail(`target ${target} is ${targetClash}, part of the source itself`);
  const sidecarClash = await firstSameFile(sidecar, [...src.ownFiles, ['the backup target', target]]);
  if (sidecarClash) fail(`sidecar ${sidecar} is ${sidecarClash}; name another file with --sidecar`);
  if (src.mountpoint && (await isInside(sidecar, src.mountpoint))) fail(`sidecar ${sidecar} is inside the source's mountpoint ${src.mountpoint}; name another file with --sidecar`);
}

/** TARGET as it is now: absent, or its size. Creates nothing. */
async function inspectTarget(path: string): Promise<{ exists: false } | { exists: true; size: number; blockDevice: boolean }> {
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
    fail(unreachable('target', path, e).message);
  }
  const facts = await inspectImage(path).catch((e) => fail((e as Error).message.replace(/^image /, 'target ')));
  return { exists: true, size: facts.size, blockDevice: facts.isBlockDevice };
}

async function createSparseTarget(path: string, size: number): Promise<void> {
  try {
    const h = await open(path, 'wx', 0o600);
    await h.truncate(size);
    await h.close();
  } catch (e) {
    fail(fsError('cannot create target', path, e).message);
  }
}

interface Plan {
  full: boolean;
  fullReason?: string;
  /** Checkpoint id to copy from (null: full). */
  base: string | null;
  redo: boolean;
}

function planBase(args: BackupArgs, src: Source, sidecar: Sidecar | null, targetExists: boolean, sidecarPath: string): Plan {
  if (!targetExists) return { full: true, fullReason: 'target did not exist', base: null, redo: false };
  if (args.full) return { full: true, fullReason: '--full', base: null, redo: false };
  if (!sidecar) {
    fail(`target ${args.target} exists but has no sidecar (${sidecarPath}): trackfs cannot tell what it holds; use --full to overwrite it with a full copy`);
  }
  if (sidecar.imageSize !== src.imageSize) fail(`target ${args.target} is a copy of an image of ${sidecar.imageSize} bytes, not ${src.imageSize}`);
  if (args.since) return { full: false, base: args.since, redo: false };
  const redo = sidecar.state === 'in-progress';
  // An interrupted full copy (a re-base starts one) is redone in full, whatever history it was of.
  if (redo && (sidecar.running?.base ?? null) === null) return { full: true, fullReason: 'redoing an interrupted full copy', base: null, redo };
  if (sidecar.generation !== src.generation) {
    // TARGET is half-updated anyway, and the interrupted run may itself have re-based the journal.
    if (redo) return { full: true, fullReason: 'redoing an interrupted backup; the source\'s history started over since', base: null, redo };
    fail(`target ${args.target} holds a copy of history ${sidecar.generation.slice(0, 12)}, but ${src.describe} is now at ${src.generation.slice(0, 12)} `
      + '(its journal was reset or re-based since): which clusters changed cannot be told; use --full');
  }
  if (redo) return { full: false, base: sidecar.running!.base!, redo };
  return { full: false, base: sidecar.checkpointId, redo };
}

export async function backupCommand(args: BackupArgs): Promise<number> {
  if (args.since) checkIdSyntax(args.since);
  const started = Date.now();
  // Ctrl-C at any point: say where TARGET stands. Installed first, so no moment is uncovered.
  let bar: cliProgress.SingleBar | null = null;
  let targetTouched = false;
  const onSigint = () => {
    bar?.stop();
    process.stderr.write(targetTouched
      ? `\ntrackfs: backup interrupted; ${args.target} is incomplete and its sidecar says so: the next run redoes it\n`
      : '\ntrackfs: backup interrupted before anything was copied\n');
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    return await runBackup(args, started, {
      touched: () => { targetTouched = true; },
      showBar: (total) => (bar = args.progress && process.stderr.isTTY ? newProgressBar(total) : null),
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function runBackup(args: BackupArgs, started: number, ui: { touched(): void; showBar(total: number): cliProgress.SingleBar | null }): Promise<number> {
  const src = await openSource(args.source, args.journal);
  const sidecarPath = args.sidecar ?? sidecarPathFor(args.target);
  await refuseSourceFiles(src, args.target, sidecarPath);
  const t = await inspectTarget(args.target);
  if (t.exists && t.blockDevice && args.sidecar === undefined) {
    // Its state cannot live in /dev, where a reused device name would inherit it.
    fail(`target ${args.target} is a block device: name where its backup state is kept with --sidecar FILE`, EXIT.usage);
  }
  if (t.exists && t.size !== src.imageSize) fail(`target ${args.target} has ${t.size} bytes, the source has ${src.imageSize}; a target must be the same size`);
  let interruptedFirstRun = false;
  if (!t.exists && args.sidecar === undefined && (await stat(sidecarPath).catch(() => null))) {
    // A first run interrupted before it created TARGET left an in-progress sidecar: just redo it.
    const left = await readSidecar(sidecarPath).catch(() => null);
    if (left?.state !== 'in-progress') fail(`target ${args.target} does not exist but its sidecar ${sidecarPath} does; remove the sidecar to start a new backup`);
    interruptedFirstRun = true;
  }
  const sidecar = t.exists ? await readSidecar(sidecarPath).catch((e) => fail((e as Error).message)) : null;
  const plan = planBase(args, src, sidecar, t.exists, sidecarPath);
  if (interruptedFirstRun) plan.redo = true;
  if (plan.base !== null) {
    // Refuse a base that cannot be used now, before the sidecar is touched.
    const ref = parseCheckpointId(plan.base);
    const resolved = resolveCheckpoint(ref, src.generation, parseCheckpointId(src.latestCheckpoint).number + 1);
    if ('unavailable' in resolved) fail(`${resolved.unavailable}; use --full for a full copy`);
  }
  const say = (line: string) => { if (!args.json) process.stderr.write(`trackfs: ${printable(line)}\n`); };
  if (plan.redo) say(`the previous backup into ${args.target} was interrupted; redoing it from ${plan.base ?? 'a full copy'}`);

  // In progress from before the checkpoint: a run cut short after a re-base is then redone in full.
  const base: Sidecar = sidecar ?? {
    format: SIDECAR_FORMAT, imageSize: src.imageSize, clusterSize: src.clusterSize, generation: src.generation, checkpoint: 0,
    checkpointId: formatCheckpointId(src.generation, 0), state: 'in-progress', source: src.describe, updatedAt: '', runs: [],
  };
  const markRunning = (to: string | null) => writeSidecar(sidecarPath, {
    ...base, state: 'in-progress', running: { startedAt: new Date(started).toISOString(), base: plan.base, to, full: plan.full },
  });
  ui.touched();
  await markRunning(null);

  let cp: CheckpointOutcome | null = null;
  if (args.checkpoint) {
    cp = await takeCheckpoint(src.checkpointTarget);
    if (cp.rebased) {
      plan.full = true;
      plan.fullReason = `the journal was untrusted (${cp.rebasedFrom}) and was re-based at this checkpoint`;
      plan.base = null;
    }
  }

  // What to copy. The list is taken after the checkpoint: it may hold writes made since, which is
  // harmless (they are copied again next time); it cannot miss one made before.
  let report: ChangesReport | null = null;
  let extents: Extent[];
  if (plan.full) {
    extents = [{ offset: 0, length: src.imageSize }];
  } else {
    report = await src.changes(plan.base);
    if (report.baseUnavailable) fail(`${report.fullImage}; use --full for a full copy`);
    if (!report.trusted) {
      plan.full = true;
      plan.fullReason = `the journal is untrusted: ${report.reason}`;
      say(`warning: ${plan.fullReason}; copying the whole image`);
    }
    extents = report.extents;
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
    const latest = report?.latestCheckpoint ?? (await src.changes(null)).latestCheckpoint;
    endGeneration = report?.generation ?? src.generation;
    endCheckpoint = parseCheckpointId(latest).number;
    if (!endGeneration.startsWith(parseCheckpointId(latest).generation)) fail('the source\'s history changed during the backup; run it again');
  }

  const toId = cp ? cp.id : null;
  if (cp) await markRunning(toId);
  if (!t.exists) await createSparseTarget(args.target, src.imageSize);

  const total = extents.reduce((n, e) => n + e.length, 0);
  const bar = ui.showBar(total);
  let result;
  try {
    result = await copyExtents(src.dataPath, args.target, extents, { sparseTarget: !t.exists, verify: args.verify, onProgress: (done) => bar?.update(done) });
  } catch (e) {
    bar?.stop();
    fail(`backup failed: ${fsError('cannot copy from', src.dataPath, e).message}; ${args.target} is incomplete and the next run redoes it`);
  }
  bar?.update(total);
  bar?.stop();
  if (result.mismatchedChunks > 0) {
    const first = result.mismatches[0]!;
    fail(`verification failed: ${result.mismatchedChunks} chunk(s) of ${args.target} differ from what was copied (first at offset ${first.offset}); the target is left marked incomplete`);
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
    runs: [...base.runs, { at: new Date().toISOString(), base: plan.base, to: toId, copiedBytes: result.copiedBytes, imageSize: src.imageSize, full: plan.full, seconds }],
  });

  const summary = {
    source: src.describe,
    target: args.target,
    sidecar: sidecarPath,
    full: plan.full,
    fullReason: plan.fullReason ?? null,
    base: plan.base,
    checkpoint: toId,
    targetAt: endId,
    redo: plan.redo,
    extents: extents.length,
    imageSize: src.imageSize,
    copiedBytes: result.copiedBytes,
    writtenBytes: result.writtenBytes,
    copiedPercent: src.imageSize ? Number(((100 * result.copiedBytes) / src.imageSize).toFixed(3)) : 0,
    seconds: Number(seconds.toFixed(3)),
    bytesPerSecond: seconds > 0 ? Math.round(result.copiedBytes / seconds) : null,
    verified: args.verify ? result.verifiedChunks : null,
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const what = plan.full ? `full copy (${printable(plan.fullReason ?? '')})` : `incremental since ${plan.base}`;
    process.stdout.write(
      `${args.target}: ${what}; copied ${formatSize(result.copiedBytes)} in ${extents.length} extent(s), `
      + `${summary.copiedPercent}% of ${formatSize(src.imageSize)}, in ${seconds.toFixed(1)} s`
      + `${args.verify ? `; verified ${result.verifiedChunks} chunk(s)` : ''}; target is at checkpoint ${endId}\n`,
    );
  }
  return EXIT.ok;
}

function newProgressBar(total: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
    format: (options, params) => {
      const width = options.barsize ?? 30;
      const done = Math.round(params.progress * width);
      const elapsed = (Date.now() - params.startTime) / 1000;
      const rate = elapsed > 0 ? params.value / elapsed : 0;
      const eta = Number.isFinite(params.eta) && params.value > 0 ? `${params.eta}s` : '?';
      return `${'█'.repeat(done)}${'░'.repeat(width - done)} ${formatSize(params.value)} / ${formatSize(params.total)}  ${formatSize(rate)}/s  ETA ${eta}`;
    },
  });
  bar.start(total, 0);
  return bar;
}

