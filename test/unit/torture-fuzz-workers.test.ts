/**
 * The fuzz kind's worker runner: a case that hangs or throws is named and the run goes on from the
 * next case; a worker that hangs or dies before its first case gives up its range once, never a
 * restart without end (a hang of the suite itself).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { casesInWorkers, type Totals, type WorkerSpec } from '../torture/lib/fuzz-workers.js';
import { Tally } from '../torture/lib/kind.js';

const spec: WorkerSpec = { url: new URL('./helpers/fake-fuzz-worker.js', import.meta.url), hangMs: 500 };

async function run(script: string, at?: number): Promise<{ tally: Tally; totals: Totals }> {
  const tally = new Tally('fuzz', 'files');
  const totals: Totals = { outcomes: {}, classes: {} };
  const data = { seed: 7, sources: 1, bootId: 'b', bases: 'some' as const, script, at };
  await casesInWorkers(spec, data, [10, 20], tally, totals);
  return { tally, totals };
}

describe('fuzz workers', { timeout: 30_000 }, () => {
  test('a case that hangs is named; a new worker goes on from the next case', async () => {
    const { tally, totals } = await run('hang-at', 13);
    assert.deepEqual(tally.failures, ['fuzz --seed 7: case 13: did not finish within 0.5 s (a hang)']);
    assert.equal(totals.outcomes['trusted'], 6, 'cases 14..19 ran in the second worker (10..12 were lost with the first)');
  });

  test('a case that throws is named; a new worker goes on from the next case', async () => {
    const { tally, totals } = await run('die-at', 15);
    assert.equal(tally.failures.length, 1);
    assert.match(tally.failures[0]!, /^fuzz --seed 7: case 15: the worker died: case 15 threw$/);
    assert.equal(totals.outcomes['trusted'], 4, 'cases 16..19');
  });

  test('a worker that hangs before its first case gives up its range once', async () => {
    const { tally, totals } = await run('hang-before-first');
    assert.deepEqual(tally.failures, ['fuzz --seed 7: before case 10 (cases up to 19 not run): did not finish within 0.5 s (a hang)']);
    assert.deepEqual(totals.outcomes, {});
  });

  test('a worker that dies before its first case gives up its range once', async () => {
    const { tally } = await run('die-before-first');
    assert.deepEqual(tally.failures, ['fuzz --seed 7: before case 10 (cases up to 19 not run): the worker died: could not make the sources']);
  });
});
