/**
 * The fuzz kind's in-process cases, run in worker threads (lib/fuzz-worker.ts), one range after
 * another: every case is announced as it starts, so a case that does not finish in time is named
 * as a hang, its worker terminated, and a new worker goes on from the next case. A worker that
 * dies or hangs before its first case (while making its sources) would do the same again: its
 * whole range is given up, once, with one failure line, rather than retried without end.
 */
import { Worker } from 'node:worker_threads';
import type { FuzzWorkerData, FuzzWorkerMessage } from './fuzz-worker.js';
import { messageOf, type Tally } from './kind.js';

export interface WorkerSpec {
  url: URL;
  /** A case (or the start) not finished after this long is a hang (a bound, not a speed test). */
  hangMs: number;
}

export const FUZZ_WORKER: WorkerSpec = { url: new URL('./fuzz-worker.js', import.meta.url), hangMs: 60_000 };

export interface Totals { outcomes: Record<string, number>; classes: Record<string, number> }

/** Runs cases [from, to) of one worker; resolves with the case the next worker starts at. */
function runWorker(spec: WorkerSpec, data: FuzzWorkerData, tally: Tally, totals: Totals): Promise<number> {
  return new Promise((resolve) => {
    const worker = new Worker(spec.url, { workerData: data });
    let started = data.from - 1;
    let settled = false;
    const firstStarted = () => started >= data.from;
    const where = () => (firstStarted() ? `case ${started}` : `before case ${data.from} (cases up to ${data.to - 1} not run)`);
    const resumeAt = () => (firstStarted() ? started + 1 : data.to);
    const finish = (next: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(next);
    };
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        tally.failure(`fuzz --seed ${data.seed}: ${where()}: did not finish within ${spec.hangMs / 1000} s (a hang)`);
        finish(resumeAt());
      }, spec.hangMs);
    };
    arm();
    worker.on('message', (m: FuzzWorkerMessage) => {
      arm();
      if ('started' in m) started = m.started;
      else if ('failed' in m) tally.failure(`fuzz --seed ${data.seed}: ${m.failed}`);
      else {
        for (const [k, v] of Object.entries(m.done.outcomes)) totals.outcomes[k] = (totals.outcomes[k] ?? 0) + v;
        for (const [k, v] of Object.entries(m.done.classes)) totals.classes[k] = (totals.classes[k] ?? 0) + v;
      }
    });
    worker.on('error', (e) => {
      tally.failure(`fuzz --seed ${data.seed}: ${where()}: the worker died: ${messageOf(e)}`);
      finish(resumeAt());
    });
    worker.on('exit', () => finish(data.to));
  });
}

/** Cases [from, to) in workers, one after another; a worker stopped by a hang or a death is followed by a new one. */
export async function casesInWorkers(
  spec: WorkerSpec,
  data: Omit<FuzzWorkerData, 'from' | 'to'>,
  range: readonly [number, number],
  tally: Tally,
  totals: Totals,
): Promise<void> {
  for (let from = range[0]; from < range[1];) from = await runWorker(spec, { ...data, from, to: range[1] }, tally, totals);
}
