/**
 * Kind 1, crash at every sync point. A seeded workload runs through the real Journal on a
 * recording file (every write, truncate and fdatasync it issues, in order, between the workload's
 * own notes: writes issued to the image, acknowledged, checkpoints, resets, closes, activations);
 * then every crash state the trace can leave (crash-states.ts) is recovered as a mount would and
 * judged (crash-model.ts): every write issued to the image before the cut is listed, since every
 * checkpoint the recovered journal has, or the journal is untrusted for a reason the rules give.
 *
 * Recovery is Journal.load + assessJournal for every state (a power cut is judged on another boot,
 * a process crash on this one), and, for a sample of the process-crash states, the mount's own
 * openJournalForMount on a real file (locks, ordered-mode facts, durability records, fdatasync).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalFormatError, type Durability } from '../../../src/journal/format.js';
import { openJournalForMount } from '../../../src/journal/open.js';
import { currentBootId } from '../../../src/util/boot-id.js';
import { mulberry32 } from '../../e2e/prng.js';
import { CrashModel } from '../lib/crash-model.js';
import { crashStates, type CrashState } from '../lib/crash-states.js';
import { caseSeed, messageOf, Tally, type Kind, type KindOptions, type KindResult } from '../lib/kind.js';
import { RecordingFile } from '../lib/recording-file.js';
import { OTHER_BOOT, readJournal, workloadImage } from '../lib/read-journal.js';
import { FIRST_MTIME_NS, runJournalWorkload, WORKLOAD_IMAGE_PATH } from '../lib/journal-workload.js';


interface Budget {
  workloads: number;
  steps: number;
  subsets: number;
  torn: number;
  /** Every how many cuts a process-crash state also goes through openJournalForMount. */
  mountEvery: number;
}

const SHORT: Budget = { workloads: 3, steps: 40, subsets: 2, torn: 1, mountEvery: 25 };
const LONG: Budget = { workloads: 40, steps: 80, subsets: 4, torn: 3, mountEvery: 10 };

/** Recovers a crash state as the pure rules do and judges it. */
async function judgeState(state: CrashState, model: CrashModel, bootId: string, bases: 'all' | 'some'): Promise<string[]> {
  let read;
  try {
    read = await readJournal(state.bytes, workloadImage(model.imageMtimeNs), state.cut === 'power' ? OTHER_BOOT : bootId);
  } catch (e) {
    // Before create returned nothing depended on the file: refusing it is right.
    if (e instanceof JournalFormatError && !model.created) return [];
    return [`load failed: ${messageOf(e)}`];
  }
  return model.judge(read.journal, read.verdict, state.cut, bases);
}

/** The same state on a real file, opened as a mount opens its journal. */
async function judgeAsMount(bytes: Buffer, model: CrashModel, dir: string, n: number): Promise<string[]> {
  const path = join(dir, `journal-${n}`);
  await writeFile(path, bytes, { mode: 0o600 });
  try {
    let opened;
    try {
      opened = await openJournalForMount({
        path,
        image: { path: WORKLOAD_IMAGE_PATH, ...workloadImage(model.imageMtimeNs) },
        clusterSize: null,
        resetJournal: false,
      });
    } catch (e) {
      if (!model.created) return [];
      return [`openJournalForMount failed: ${messageOf(e)}`];
    }
    try {
      return await model.judge(opened.journal, opened.verdict, 'process');
    } finally {
      await opened.journal.abandon();
    }
  } finally {
    await rm(path, { force: true });
  }
}

async function run(opts: KindOptions): Promise<KindResult> {
  const tally = new Tally('crash-states', 'crash states recovered and judged');
  const budget = opts.short ? SHORT : LONG;
  const bootId = await currentBootId();
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-torture-crash-'));
  const kinds = { process: 0, none: 0, subset: 0, torn: 0 };
  let cuts = 0;
  let asMount = 0;
  let fileEvents = 0;
  try {
    for (const mode of ['strict', 'ordered'] as Durability[]) {
      for (let w = 0; w < budget.workloads; w++) {
        const seed = caseSeed(opts.seed, 'crash', mode, w);
        const rng = mulberry32(seed ^ 0x5bd1e995);
        const file = new RecordingFile(() => (rng() < 0.6 ? 0 : 1 + Math.floor(rng() * 3)));
        const where = `crash-states --seed ${opts.seed}: ${mode} workload ${w} (seed ${seed})`;
        try {
          await runJournalWorkload(file, { mode, seed, steps: budget.steps, bootId, endActive: rng() < 0.5 });
        } catch (e) {
          tally.fail(where, `the workload itself failed: ${messageOf(e)}`);
          continue;
        }
        fileEvents += file.trace.filter((e) => e.t === 'write' || e.t === 'truncate' || e.t === 'sync').length;
        const model = new CrashModel(FIRST_MTIME_NS);
        for (const cut of crashStates(file.trace, model, { subsets: budget.subsets, torn: budget.torn, rng })) {
          cuts++;
          for (const state of cut.states) {
            kinds[state.kind]++;
            const problems = await judgeState(state, model, bootId, opts.short ? 'some' : 'all');
            tally.check(problems, `${where}, cut after trace event ${cut.index}, ${state.kind} (${state.cut})`);
          }
          if (cuts % budget.mountEvery === 0) {
            asMount++;
            const problems = await judgeAsMount(cut.states[0]!.bytes, model, dir, cuts);
            tally.check(problems, `${where}, cut after trace event ${cut.index}, opened as a mount`);
          }
        }
      }
      opts.log(`crash-states: ${mode} done, ${tally.cases} states so far`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  tally.figures.push(`${budget.workloads} workloads per mode (strict, ordered) of ${budget.steps} steps; `
    + `${fileEvents} journal writes, truncates and fdatasyncs recorded`);
  tally.figures.push(`${cuts} cut points; states: ${kinds.process} process crash, ${kinds.none} power cut with nothing unsynced landed, `
    + `${kinds.subset} with a subset landed, ${kinds.torn} with a torn 4 KiB block; ${asMount} also opened as a mount`);
  return tally.result();
}

export const crashStatesKind: Kind = {
  name: 'crash-states',
  what: 'crash at every sync point: every state a power cut or a process crash can leave, recovered and judged',
  run,
};
