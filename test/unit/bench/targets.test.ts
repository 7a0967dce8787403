/** The comparison's targets: the one list, its colours, and leaving out what cannot run. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { colorsOf, comparisonTargets, readyTargets, type Target } from '../../../bench/targets.js';
import { rotation } from '../../../bench/matrix.js';

const fake = (name: string, why: string | null): Target => ({
  name, prepare: async () => why, start: async () => { throw new Error('not started in this test'); },
});

describe('bench targets', () => {
  test('the comparison runs these targets in this order, each with its own colour', () => {
    const targets = comparisonTargets();
    assert.deepEqual(targets.map((t) => t.name), ['direct', 'trackfs-strict', 'trackfs-js', 'trackfs-ordered', 'trackfs-off', 'c-libfuse2', 'qsd']);
    const colors = colorsOf(targets);
    assert.equal(Object.keys(colors).length, targets.length);
    assert.equal(new Set(Object.values(colors)).size, targets.length);
  });

  test('a target that cannot run is left out with a note saying why', async () => {
    const notes: string[] = [];
    const ready = await readyTargets([fake('a', null), fake('b', 'not installed'), fake('c', null)], notes);
    assert.deepEqual(ready.map((t) => t.name), ['a', 'c']);
    assert.deepEqual(notes, ['b skipped: not installed']);
  });

  test('each repetition starts one target later, so every target runs in every position', () => {
    assert.deepEqual([0, 1, 2, 3].map((rep) => rotation(['a', 'b', 'c'], rep).join('')), ['abc', 'bca', 'cab', 'abc']);
  });
});
