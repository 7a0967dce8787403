/**
 * Runs in-process fuzz cases [from, to) in a worker thread, so that a case that spins (a loader
 * sizing its work by a crafted header, say) can be told from a slow one and stopped: the parent
 * (kinds/fuzz.ts) hears of every case as it starts, and terminates the worker when one does not
 * finish in time. Messages: {started: i}, {failed: line}, {done: counts}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mulberry32 } from '../../e2e/prng.js';
import { checkMutant, type FuzzOutcome } from './fuzz-check.js';
import { makeSources } from './fuzz-sources.js';
import { caseSeed } from './kind.js';
import { mutate } from './mutations.js';

export interface FuzzWorkerData {
  seed: number;
  sources: number;
  bootId: string;
  from: number;
  to: number;
  /** Compare the changes since every checkpoint, or some (a short run). */
  bases: 'all' | 'some';
}

export type FuzzWorkerMessage =
  | { started: number }
  | { failed: string }
  | { done: { outcomes: Record<FuzzOutcome, number>; classes: Record<string, number>; sources: string[] } };

async function main(): Promise<void> {
  const d = workerData as FuzzWorkerData;
  const port = parentPort!;
  const sources = await makeSources(d.seed, d.sources, d.bootId);
  const outcomes: Record<FuzzOutcome, number> = { refused: 0, trusted: 0, untrusted: 0 };
  const classes: Record<string, number> = {};
  for (let i = d.from; i < d.to; i++) {
    port.postMessage({ started: i } satisfies FuzzWorkerMessage);
    const rng = mulberry32(caseSeed(d.seed, 'fuzz-case', i));
    const src = sources[Math.floor(rng() * sources.length)]!;
    const m = mutate(src.bytes, rng);
    classes[m.cls] = (classes[m.cls] ?? 0) + 1;
    const { outcome, problems } = await checkMutant(src, m, d.bases);
    outcomes[outcome]++;
    if (problems.length > 0) {
      const failed = `case ${i} (${src.name}; ${m.cls}: ${m.what}): ${problems.slice(0, 2).join('; ')}`;
      port.postMessage({ failed } satisfies FuzzWorkerMessage);
    }
  }
  port.postMessage({ done: { outcomes, classes, sources: sources.map((s) => s.name) } } satisfies FuzzWorkerMessage);
}

await main();
