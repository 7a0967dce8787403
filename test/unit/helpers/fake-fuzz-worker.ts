/**
 * A stand-in for the fuzz kind's worker (test/torture/lib/fuzz-worker.ts), for the tests of how its
 * runner treats a worker that hangs or dies. `script` in its data says what it does:
 * hang-before-first, die-before-first, or cases from..to where case `at` hangs (hang-at) or
 * throws (die-at). Each case it finishes counts as one "trusted" outcome.
 */
import { parentPort, workerData } from 'node:worker_threads';

const d = workerData as { from: number; to: number; script: string; at?: number };
const port = parentPort!;
const hang = () => setInterval(() => {}, 1_000);

if (d.script === 'hang-before-first') hang();
else if (d.script === 'die-before-first') throw new Error('could not make the sources');
else {
  let done = 0;
  let stopped = false;
  for (let i = d.from; i < d.to && !stopped; i++) {
    port.postMessage({ started: i });
    if (i === d.at && d.script === 'hang-at') {
      hang();
      stopped = true;
    } else if (i === d.at && d.script === 'die-at') {
      throw new Error(`case ${i} threw`);
    } else {
      done++;
    }
  }
  if (!stopped) port.postMessage({ done: { outcomes: { trusted: done }, classes: {}, sources: [] } });
}
