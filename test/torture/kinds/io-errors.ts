/**
 * Kind 3, an I/O error at the nth call, for every n of a workload (SQLite's I/O-error loop), in
 * process, where every n costs milliseconds:
 *
 *   journal  the seeded workload of crash-states (writes, first touches, checkpoints, resets,
 *            closes, daemon deaths, offline checkpoints, activations) on a journal file whose nth
 *            read, write, truncate or fdatasync fails with EIO, ENOSPC or EROFS, once or from then
 *            on. Then: every failure surfaced as an errno (no TypeError, no unnamed error); the
 *            file the daemon's death leaves and what a power cut keeps (a failed fdatasync drops
 *            what it covered, as Linux does) are recovered and, if trusted, list every write
 *            issued to the image; the journal still open takes one more write (listed) or refuses
 *            it with an errno, and closes or is abandoned without hanging.
 *   image    a Volume over that journal (ChangeTracker) and an image whose nth read, write or
 *            fdatasync fails: the request that met the fault, and only requests that met one, get
 *            an error, with its errno; the volume reports it upward (imageFailed); every write
 *            answered with success is listed; nothing stays in flight.
 *
 * The daemon's policy above this (a failed journal or image moves the mount to its failed state,
 * unmount completes) is tested on real mounts by test/e2e/journal-fault.test.ts and
 * journal-disk-failure.test.ts (the inject-fault control op).
 */
import { Journal, type DurabilityGuard } from '../../../src/journal/journal.js';
import { injectedFault } from '../../../src/journal/journal-io.js';
import { JournalFormatError, type Durability } from '../../../src/journal/format.js';
import { Volume } from '../../../src/volume/volume.js';
import type { ImageFile, IoCallback } from '../../../src/volume/image.js';
import { ChangeTracker } from '../../../src/tracker/tracker.js';
import { Lifecycle } from '../../../src/mount/lifecycle.js';
import { errno } from '../../../src/util/errno.js';
import { currentBootId } from '../../../src/util/boot-id.js';
import { mulberry32 } from '../../e2e/prng.js';
import { CrashModel } from '../lib/crash-model.js';
import { FaultyFile, powerCutImage, type FaultCode, type FaultPlan } from '../lib/faulty-file.js';
import { caseSeed, messageOf, Tally, type Kind, type KindOptions, type KindResult } from '../lib/kind.js';
import { isFileEvent } from '../lib/recording-file.js';
import { OTHER_BOOT, readJournal, workloadImage } from '../lib/read-journal.js';
import {
  FIRST_MTIME_NS, runJournalWorkload, WORKLOAD_CLUSTER_SIZE, WORKLOAD_CLUSTERS, WORKLOAD_IMAGE_PATH, WORKLOAD_IMAGE_SIZE,
  type WorkloadOutcome,
} from '../lib/journal-workload.js';

const CODES: FaultCode[] = ['EIO', 'ENOSPC', 'EROFS'];
/** A close or a write that has not settled after this long is taken as a hang (a bound, not a speed test). */
const HANG_MS = 10_000;

interface Budget { workloads: number; steps: number; volumeRuns: number; volumeOps: number; allCodes: boolean }
const SHORT: Budget = { workloads: 1, steps: 30, volumeRuns: 1, volumeOps: 60, allCodes: false };
const LONG: Budget = { workloads: 8, steps: 60, volumeRuns: 6, volumeOps: 150, allCodes: true };

const isErrno = (code: string) => /^E[A-Z0-9]+$/.test(code);

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${HANG_MS / 1000} s (a hang)`)), HANG_MS);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** The plans for a workload of `calls` calls: every n, with each code (long) or one code per n. */
function plans(calls: number, allCodes: boolean): FaultPlan[] {
  const out: FaultPlan[] = [];
  for (let n = 1; n <= calls; n++) {
    const codes = allCodes ? CODES : [CODES[n % CODES.length]!];
    for (const code of codes) for (const persistent of [false, true]) out.push({ n, code, persistent });
  }
  return out;
}

/* ------------------------------------------------------------------ journal ---- */

/** A recovered state (process death on this boot, or power cut on another): if trusted, it lists every issued write. */
async function judgeRecovered(bytes: Buffer, model: CrashModel, bootId: string, cut: 'process' | 'power'): Promise<string[]> {
  let read;
  try {
    read = await readJournal(bytes, workloadImage(model.imageMtimeNs), cut === 'power' ? OTHER_BOOT : bootId);
  } catch (e) {
    if (!model.created) return [];
    if (e instanceof JournalFormatError) return [`${cut} state refused after one I/O error: ${e.message}`];
    return [`${cut} state: load threw ${messageOf(e)}`];
  }
  // An I/O error is a cause: untrusted (listing the whole image) is always allowed.
  if (!read.verdict.trusted) return [];
  return (await model.judge(read.journal, read.verdict, cut, 'some')).map((p) => `${cut} state: ${p}`);
}

/** The journal left open takes one more write or refuses it with an errno, then closes without hanging. */
async function stillUsable(out: WorkloadOutcome): Promise<string[]> {
  const j = out.journal;
  if (!j || j.isClosed) return [];
  const problems: string[] = [];
  const c = WORKLOAD_CLUSTERS - 2;
  try {
    await bounded(j.record(c, c) ?? Promise.resolve(), 'a write after the fault');
    const listed = await j.changedSince(j.headerSnapshot().epoch - 1 < 0 ? 0 : j.headerSnapshot().epoch - 1);
    if (!listed.test(c)) problems.push('a write recorded after the fault is not listed');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !isErrno(code)) problems.push(`a write after the fault failed without an errno: ${messageOf(e)}`);
  }
  try {
    await bounded(j.close({ imageMtimeNs: out.imageMtimeNs }), 'close');
  } catch (e) {
    if (messageOf(e).includes('a hang')) problems.push(messageOf(e));
    try {
      await bounded(j.abandon(), 'abandon after a failed close');
    } catch (e2) {
      problems.push(`abandon after a failed close: ${messageOf(e2)}`);
    }
  }
  return problems;
}

interface JournalRun { file: FaultyFile; problems: string[] }

/** One journal run with `plan` (exported to replay a case by hand). */
export async function journalCase(mode: Durability, seed: number, steps: number, plan: FaultPlan, bootId: string): Promise<JournalRun> {
  const rng = mulberry32(seed ^ 0x5bd1e995);
  const file = new FaultyFile(() => (rng() < 0.6 ? 0 : 1 + Math.floor(rng() * 3)), plan);
  const problems: string[] = [];
  let out: WorkloadOutcome;
  // Ordered mode runs with a record keeper, as the daemon's (src/mount/durability.ts): told of a
  // loss (a failed fdatasync), it keeps it until the journal says the bits are durable again.
  let lossKept = false;
  const guard: DurabilityGuard = {
    lost: async () => { lossKept = true; },
    restored: async () => { lossKept = false; },
  };
  try {
    const spec = { mode, seed, steps, bootId, tolerateFailures: true, endActive: seed % 3 === 0, ...(mode === 'ordered' ? { guard } : {}) };
    out = await bounded(runJournalWorkload(file, spec), 'the workload');
  } catch (e) {
    return { file, problems: [`the workload threw: ${messageOf(e)}`] };
  }
  for (const f of out.failedSteps) if (!isErrno(f.code)) problems.push(`step ${f.step} failed without an errno: ${f.code}`);
  for (const f of out.failed) if (!isErrno(f.code)) problems.push(`a write's record() failed without an errno: ${f.code}`);
  if (plan.n > 0 && file.faultsInjected === 0) return { file, problems };
  const model = new CrashModel(FIRST_MTIME_NS);
  for (const e of file.trace) if (!isFileEvent(e) && e.t !== 'sync-failed') model.apply(e);
  problems.push(...await judgeRecovered(file.contents(), model, bootId, 'process'));
  // A loss still kept at the end is in the durability record, which recovery after a reboot
  // reads (tested by test/unit/durability*.test.ts); the journal alone need not list it.
  if (!lossKept) problems.push(...await judgeRecovered(powerCutImage(file.trace), model, bootId, 'power'));
  problems.push(...await stillUsable(out));
  return { file, problems };
}

async function journalFaults(opts: KindOptions, tally: Tally, budget: Budget, bootId: string): Promise<void> {
  let points = 0;
  let runs = 0;
  const byOp: Record<string, number> = {};
  for (const mode of ['strict', 'ordered'] as Durability[]) {
    for (let w = 0; w < budget.workloads; w++) {
      const seed = caseSeed(opts.seed, 'io-errors', mode, w);
      const where = `io-errors --seed ${opts.seed}: ${mode} journal workload ${w} (seed ${seed})`;
      const counted = await journalCase(mode, seed, budget.steps, { n: 0, code: 'EIO', persistent: false }, bootId);
      tally.check(counted.problems, `${where}, no fault`);
      const calls = counted.file.callsMade;
      points += calls;
      for (const plan of plans(calls, budget.allCodes)) {
        const r = await journalCase(mode, seed, budget.steps, plan, bootId);
        runs++;
        if (r.file.failedOp) byOp[r.file.failedOp] = (byOp[r.file.failedOp] ?? 0) + 1;
        const fault = `${plan.code} at call ${plan.n} (${r.file.failedOp ?? '?'})${plan.persistent ? ' and after' : ''}`;
        tally.check(r.problems, `${where}, ${fault}`);
      }
      opts.log(`io-errors: ${mode} journal workload ${w}: ${calls} calls, each failed`);
    }
  }
  const ops = Object.entries(byOp).map(([op, n]) => `${n} ${op}`).join(', ');
  tally.figures.push(`journal: ${budget.workloads} workloads per mode (strict, ordered) of ${budget.steps} steps, ${points} error points, `
    + `${runs} runs (${budget.allCodes ? 'EIO, ENOSPC and EROFS' : 'one of EIO, ENOSPC, EROFS'} at each, once and from then on; `
    + `failed calls: ${ops})`);
}

/* ------------------------------------------------------------------ image ---- */

/** An image in memory whose nth call (read, write, fdatasync) fails. */
class FaultyImage {
  calls = 0;
  readonly failedCalls = new Set<number>();
  readonly written = new Map<number, number>();

  constructor(private readonly plan: FaultPlan) {}

  private fails(): boolean {
    const n = ++this.calls;
    const hit = this.plan.n > 0 && (n === this.plan.n || (this.plan.persistent && n > this.plan.n));
    if (hit) this.failedCalls.add(n);
    return hit;
  }

  private err(syscall: string): NodeJS.ErrnoException {
    return injectedFault(this.plan.code, syscall);
  }

  read(_buf: Buffer, n: number, _position: number, cb: IoCallback): void {
    const failed = this.fails();
    setImmediate(() => (failed ? cb(this.err('read'), 0) : cb(null, n)));
  }

  write(_buf: Buffer, n: number, position: number, cb: IoCallback): void {
    const failed = this.fails();
    setImmediate(() => {
      if (failed) return cb(this.err('write'), 0);
      this.written.set(position, n);
      cb(null, n);
    });
  }

  datasync(): Promise<void> {
    const failed = this.fails();
    return new Promise((resolve, reject) => setImmediate(() => (failed ? reject(this.err('fdatasync')) : resolve())));
  }
}

interface VolumeRun { problems: string[]; calls: number; failedRequests: number }

async function volumeCase(seed: number, ops: number, plan: FaultPlan, bootId: string): Promise<VolumeRun> {
  const rng = mulberry32(seed);
  const int = (n: number) => Math.floor(rng() * n);
  const file = new FaultyFile(() => 0, { n: 0, code: 'EIO', persistent: false });
  const geometry = { imageSize: WORKLOAD_IMAGE_SIZE, clusterSize: WORKLOAD_CLUSTER_SIZE, imagePath: WORKLOAD_IMAGE_PATH };
  const journal = await Journal.create(file.handle(), geometry);
  await journal.activate({ durability: seed % 2 ? 'strict' : 'ordered', bootId, pid: process.pid, imagePath: WORKLOAD_IMAGE_PATH });
  const lifecycle = new Lifecycle();
  lifecycle.moveTo('active', 'torture');
  const reported: string[] = [];
  const volume = new Volume(WORKLOAD_IMAGE_SIZE, lifecycle, {
    journalFailed: (e) => reported.push(`journal: ${messageOf(e)}`),
    imageFailed: (e, op) => reported.push(`image ${op}: ${(e as NodeJS.ErrnoException).code}`),
  }, false, { path: null, reason: 'torture: in process' });
  const image = new FaultyImage(plan);
  const tracker = new ChangeTracker(journal);
  volume.attach({ image: image as unknown as ImageFile, tracker, recorded: journal, clusterSize: WORKLOAD_CLUSTER_SIZE, markAhead: 0 });
  const problems: string[] = [];
  const acknowledged: { position: number; length: number }[] = [];
  let failedRequests = 0;
  const allowed = new Set([-errno(plan.code)]);
  const judge = (what: string, result: number, callsBefore: number) => {
    if (result >= 0) return;
    failedRequests++;
    if (!allowed.has(result)) problems.push(`${what} answered ${result}, not -${plan.code}`);
    if (image.failedCalls.size === 0 || callsBefore >= Math.max(...image.failedCalls)) {
      // Only a request that met a fault may fail (or one after it, if the fault persists).
      if (!plan.persistent) problems.push(`${what} failed (${result}) though no image call it made failed`);
    }
  };
  for (let i = 0; i < ops; i++) {
    const batch = 1 + int(3);
    const done: Promise<void>[] = [];
    for (let k = 0; k < batch; k++) {
      const kind = int(10);
      const position = int(WORKLOAD_IMAGE_SIZE - 3 * WORKLOAD_CLUSTER_SIZE);
      const length = 1 + int(3 * WORKLOAD_CLUSTER_SIZE);
      const before = image.calls;
      if (kind < 6) {
        done.push(new Promise((resolve) => volume.write(Buffer.alloc(length), position, (r) => {
          if (r > 0) acknowledged.push({ position, length: r });
          judge(`write ${i}.${k} at ${position}`, r, before);
          resolve();
        })));
      } else if (kind < 9) {
        done.push(new Promise((resolve) => volume.read(position, length, (r) => {
          judge(`read ${i}.${k} at ${position}`, r, before);
          resolve();
        })));
      } else {
        done.push(new Promise((resolve) => volume.fsync((r) => {
          judge(`fsync ${i}.${k}`, r, before);
          resolve();
        })));
      }
    }
    await bounded(Promise.all(done), `requests of batch ${i}`);
  }
  const failedImageCalls = image.failedCalls.size;
  const imageReports = reported.filter((r) => r.startsWith('image')).length;
  if (imageReports !== failedImageCalls) {
    problems.push(`${failedImageCalls} image calls failed, ${imageReports} reported upward (imageFailed)`);
  }
  if (volume.pendingRequests !== 0) problems.push(`${volume.pendingRequests} requests still in flight`);
  const listed = await journal.changedSince(0);
  for (const w of acknowledged) {
    const first = Math.floor(w.position / WORKLOAD_CLUSTER_SIZE);
    const last = Math.floor((w.position + w.length - 1) / WORKLOAD_CLUSTER_SIZE);
    for (let c = first; c <= last; c++) {
      if (!listed.test(c)) {
        problems.push(`a write acknowledged at ${w.position} is not listed (cluster ${c})`);
        break;
      }
    }
  }
  volume.detach();
  await bounded(journal.close({ imageMtimeNs: FIRST_MTIME_NS }), 'the journal close');
  return { problems, calls: image.calls, failedRequests };
}

async function imageFaults(opts: KindOptions, tally: Tally, budget: Budget, bootId: string): Promise<void> {
  let points = 0;
  let runs = 0;
  let failedRequests = 0;
  for (let v = 0; v < budget.volumeRuns; v++) {
    const seed = caseSeed(opts.seed, 'io-errors-image', v);
    const where = `io-errors --seed ${opts.seed}: image workload ${v} (seed ${seed})`;
    const counted = await volumeCase(seed, budget.volumeOps, { n: 0, code: 'EIO', persistent: false }, bootId)
      .catch((e: unknown) => ({ problems: [`threw ${messageOf(e)}`], calls: 0, failedRequests: 0 }));
    tally.check(counted.problems, `${where}, no fault`);
    points += counted.calls;
    for (const plan of plans(counted.calls, budget.allCodes)) {
      const r = await volumeCase(seed, budget.volumeOps, plan, bootId)
        .catch((e: unknown) => ({ problems: [`threw ${messageOf(e)}`], calls: 0, failedRequests: 0 }));
      runs++;
      failedRequests += r.failedRequests;
      tally.check(r.problems, `${where}, ${plan.code} at image call ${plan.n}${plan.persistent ? ' and after' : ''}`);
    }
    opts.log(`io-errors: image workload ${v}: ${counted.calls} calls, each failed`);
  }
  tally.figures.push(`image: ${budget.volumeRuns} volume workloads of ${budget.volumeOps} batches (reads, writes, fsyncs), `
    + `${points} error points, ${runs} runs, ${failedRequests} requests answered with the error`);
}

async function run(opts: KindOptions): Promise<KindResult> {
  const tally = new Tally('io-errors', 'runs with an I/O error at the nth call, judged');
  const budget = opts.short ? SHORT : LONG;
  const bootId = await currentBootId();
  await journalFaults(opts, tally, budget, bootId);
  await imageFaults(opts, tally, budget, bootId);
  return tally.result();
}

export const ioErrorsKind: Kind = {
  name: 'io-errors',
  what: 'an I/O error (EIO, ENOSPC, EROFS) at every call of a workload, on the journal and on the image',
  run,
};
