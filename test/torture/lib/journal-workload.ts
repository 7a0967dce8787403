/**
 * A seeded workload run through the real Journal, as the daemon drives it: data writes of new and
 * recorded clusters (several at once, so commits are shared), first touches of pages, marking
 * ahead, syncs, checkpoints (quiesced, as closeEpoch does), a reset, a journal marked untrusted and
 * then re-based by a checkpoint, clean closes, daemon deaths, offline checkpoints, and the
 * activation after each reopen. Every step is logged to the file's notes (recording-file.ts), so
 * a checker knows what had been issued to the image and acknowledged at any point of the trace.
 *
 * The data write itself is modelled, not made: the order is record() resolved, then the write goes
 * to the image (`image` note, the image's mtime moves), then it is acknowledged (`ack`). A write
 * whose record() rejects is never issued (that is the write-ahead rule) and is counted as failed.
 */
import { Journal, type DurabilityGuard } from '../../../src/journal/journal.js';
import { CLUSTERS_PER_PAGE, type Durability } from '../../../src/journal/format.js';
import type { JournalIo } from '../../../src/journal/journal-io.js';
import type { Note } from './recording-file.js';
import { mulberry32 } from '../../e2e/prng.js';

export const WORKLOAD_CLUSTER_SIZE = 4096;
/** Four bitmap pages, the last one partial: commits span pages and fold history page by page. */
export const WORKLOAD_CLUSTERS = 3 * CLUSTERS_PER_PAGE + 1000;
export const WORKLOAD_IMAGE_SIZE = WORKLOAD_CLUSTERS * WORKLOAD_CLUSTER_SIZE - 1234;
export const WORKLOAD_IMAGE_PATH = '/torture/image.raw';
/** The image's mtime before any write (nanoseconds). */
export const FIRST_MTIME_NS = 1_700_000_000_000_000_000n;

/** Where the workload runs: a file it can open again (a new daemon), and a log of what it did. */
export interface WorkloadFile {
  handle(): JournalIo;
  note(n: Note): void;
}

export interface WorkloadSpec {
  mode: Durability;
  seed: number;
  steps: number;
  bootId: string;
  /** The daemon's record keeper in ordered mode (io-errors.ts); none: no guard. */
  guard?: DurabilityGuard;
  /** A step that fails is counted and the workload goes on (io-errors.ts); else it throws. */
  tolerateFailures?: boolean;
  /** Leave the journal active at the end (a crash) instead of closing it clean. */
  endActive?: boolean;
}

export interface WorkloadOutcome {
  /** The journal as the workload left it (closed unless endActive); null if it was never created. */
  journal: Journal | null;
  /** Writes acknowledged, and writes whose record() failed (never issued to the image). */
  acknowledged: { first: number; last: number }[];
  failed: { first: number; last: number; code: string }[];
  /** Steps that failed (tolerateFailures), with their errno. */
  failedSteps: { step: string; code: string }[];
  /** The image's mtime after the last write. */
  imageMtimeNs: bigint;
}

type Step = 'writes' | 'rewrite' | 'markAhead' | 'sync' | 'checkpoint' | 'reset' | 'untrusted'
  | 'close-reopen' | 'crash-reopen' | 'offline-checkpoint';

const WEIGHTS: [Step, number][] = [
  ['writes', 30], ['rewrite', 8], ['markAhead', 5], ['sync', 8], ['checkpoint', 8], ['reset', 1],
  ['untrusted', 1], ['close-reopen', 3], ['crash-reopen', 3], ['offline-checkpoint', 2],
];

/** The errno an error carries; one without is named as such (io-errors.ts counts it a finding). */
function codeOf(e: unknown): string {
  const c = (e as NodeJS.ErrnoException)?.code;
  return typeof c === 'string' ? c : `no errno code (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)})`;
}

export async function runJournalWorkload(file: WorkloadFile, spec: WorkloadSpec): Promise<WorkloadOutcome> {
  const rng = mulberry32(spec.seed);
  const int = (n: number) => Math.floor(rng() * n);
  const pick = (): Step => {
    const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
    let r = rng() * total;
    for (const [s, w] of WEIGHTS) if ((r -= w) < 0) return s;
    return 'writes';
  };
  const CPP = CLUSTERS_PER_PAGE;
  /** Mostly around page boundaries and in the first pages, so pages are shared, rewritten and folded. */
  const firstCluster = (): number => {
    switch (int(5)) {
      case 0: return CPP - 4 + int(8);
      case 1: return 2 * CPP - 4 + int(8);
      case 2: return int(200);
      case 3: return WORKLOAD_CLUSTERS - 1 - int(3);
      default: return int(WORKLOAD_CLUSTERS);
    }
  };
  const out: WorkloadOutcome = {
    journal: null, acknowledged: [], failed: [], failedSteps: [], imageMtimeNs: FIRST_MTIME_NS,
  };
  let nextWrite = 0;

  /** Runs a step; a failure is noted and tolerated, or thrown. */
  const attempt = async (step: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (e) {
      if (!spec.tolerateFailures) throw e;
      out.failedSteps.push({ step, code: codeOf(e) });
      return false;
    }
  };

  const activate = async (j: Journal) => {
    file.note({ t: 'activate-start' });
    await j.activate({ durability: spec.mode, bootId: spec.bootId, pid: process.pid, imagePath: WORKLOAD_IMAGE_PATH, fsIdentity: '' });
    if (spec.mode === 'ordered' && spec.guard) j.setDurabilityGuard(spec.guard);
    file.note({ t: 'activate-done' });
  };
  /** A new daemon: loads the file and activates it. */
  const reopen = async (): Promise<Journal> => {
    const { journal: j } = await Journal.load(file.handle());
    file.note({ t: 'reopen', generation: j.generation });
    await activate(j);
    return j;
  };
  /** A clean close (unmount), with the notes the crash model reads. */
  const closeClean = async (journal: Journal): Promise<void> => {
    file.note({ t: 'close-start' });
    await journal.close({ imageMtimeNs: out.imageMtimeNs });
    file.note({ t: 'close-done', clean: true });
  };
  /** A checkpoint, with the notes the crash model reads. */
  const checkpointNoted = async (journal: Journal, state: Parameters<Journal['checkpoint']>[0]): Promise<void> => {
    file.note({ t: 'checkpoint-start' });
    const r = await journal.checkpoint(state);
    file.note({ t: 'checkpoint-done', closed: r.checkpoint, generation: r.generation, rebased: r.rebased });
  };

  const made: { journal: Journal | null } = { journal: null };
  await attempt('create', async () => {
    const geometry = { imageSize: WORKLOAD_IMAGE_SIZE, clusterSize: WORKLOAD_CLUSTER_SIZE, imagePath: WORKLOAD_IMAGE_PATH };
    const created = await Journal.create(file.handle(), geometry);
    file.note({ t: 'created', generation: created.generation });
    made.journal = created;
    await activate(created);
  });
  if (!made.journal) return out;
  let j: Journal = made.journal;

  const dataWrite = (first: number, last: number): Promise<void> => {
    const w = nextWrite++;
    file.note({ t: 'issue', w, first, last });
    const recorded = j.record(first, last);
    const issue = () => {
      out.imageMtimeNs += 1000n;
      file.note({ t: 'image', w, mtimeNs: out.imageMtimeNs });
      file.note({ t: 'ack', w });
      out.acknowledged.push({ first, last });
    };
    if (recorded === null) {
      issue();
      return Promise.resolve();
    }
    return recorded.then(issue, (e: unknown) => {
      out.failed.push({ first, last, code: codeOf(e) });
    });
  };

  for (let i = 0; i < spec.steps; i++) {
    const step = pick();
    switch (step) {
      case 'writes': {
        const n = 1 + int(4);
        const writes: Promise<void>[] = [];
        for (let k = 0; k < n; k++) {
          const first = firstCluster();
          writes.push(dataWrite(first, Math.min(WORKLOAD_CLUSTERS - 1, first + int(6))));
        }
        await Promise.all(writes);
        break;
      }
      case 'rewrite': {
        // A cluster written before: recorded (the fast path) unless a checkpoint started a new epoch.
        const old = out.acknowledged[int(Math.max(1, out.acknowledged.length))];
        await dataWrite(old?.first ?? 0, old?.last ?? 0);
        break;
      }
      case 'markAhead': {
        const first = firstCluster();
        j.markAhead(first, Math.min(WORKLOAD_CLUSTERS - 1, first + int(64)));
        break;
      }
      case 'sync':
        await attempt('sync', () => j.sync());
        break;
      case 'checkpoint':
        await attempt('checkpoint', () => checkpointNoted(j, { state: 'active' }));
        break;
      case 'reset':
        await attempt('reset', async () => {
          file.note({ t: 'reset-start' });
          await j.reset();
          file.note({ t: 'generation', generation: j.generation });
        });
        break;
      case 'untrusted':
        await attempt('untrusted', async () => {
          file.note({ t: 'untrusted-start' });
          await j.markUntrusted('torture: marked untrusted by the workload');
        });
        break;
      case 'close-reopen':
        await attempt('close-reopen', () => closeClean(j));
        if (!j.isClosed) await j.abandon();
        if (!(await attempt('reopen', async () => { j = await reopen(); }))) return out;
        break;
      case 'crash-reopen':
        // kill -9 of the daemon: nothing more is written through its descriptor; the page cache
        // keeps what it wrote, and the next daemon starts from the file as it is.
        await j.abandon();
        if (!(await attempt('reopen', async () => { j = await reopen(); }))) return out;
        break;
      case 'offline-checkpoint':
        await attempt('offline-checkpoint', async () => {
          await closeClean(j);
          const { journal: offline } = await Journal.load(file.handle());
          file.note({ t: 'reopen', generation: offline.generation });
          try {
            await checkpointNoted(offline, { state: 'clean', imageMtimeNs: out.imageMtimeNs });
          } finally {
            await offline.abandon();
          }
        });
        if (!j.isClosed) await j.abandon();
        if (!(await attempt('reopen', async () => { j = await reopen(); }))) return out;
        break;
    }
  }
  if (!spec.endActive) {
    await attempt('close', () => closeClean(j));
  }
  out.journal = j;
  return out;
}
