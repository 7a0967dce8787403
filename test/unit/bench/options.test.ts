/** The benchmark's command line. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseVariant } from '../../../bench/options.js';

describe('bench options', () => {
  test('defaults: a full run of every target and job, two repetitions, scale test on', () => {
    assert.deepEqual(parseArgs([], '/out'), {
      quick: false, reps: 2, targets: null, jobs: null, scale: true, knobs: false, render: null, variants: [], out: '/out',
      sizeMiB: 1024, runtime: 8, scaleWrites: 1_000_000,
    });
  });

  test('--quick shrinks the image, the random jobs and the scale test; lists split on commas', () => {
    const argv = ['--quick', '--reps', '1', '--no-scale', '--targets', 'direct,qsd', '--jobs', 'seq-read-hot', '--out', '/o'];
    const o = parseArgs(argv, '/out');
    assert.deepEqual([o.sizeMiB, o.runtime, o.scaleWrites, o.reps, o.scale], [256, 3, 50_000, 1, false]);
    assert.deepEqual(o.targets, ['direct', 'qsd']);
    assert.deepEqual(o.jobs, ['seq-read-hot']);
    assert.equal(o.out, '/o');
  });

  test('unknown options and bad repetition counts are refused', () => {
    assert.throws(() => parseArgs(['--fast'], '/out'), /unknown option --fast/);
    for (const reps of ['0', '1.5', 'x']) assert.throws(() => parseArgs(['--reps', reps], '/out'), /--reps needs a positive integer/);
  });

  test('--variant may be given more than once; NAME=TREE defaults to strict, :args split on commas', () => {
    const o = parseArgs(['--variant', 'a=/t/a', '--variant', 'b=/t/b:--durability,ordered'], '/out');
    assert.deepEqual(o.variants.map(parseVariant), [
      { name: 'a', tree: '/t/a', args: ['--durability', 'strict'] },
      { name: 'b', tree: '/t/b', args: ['--durability', 'ordered'] },
    ]);
    assert.throws(() => parseVariant('no-equals'), /--variant wants NAME=TREE\[:arg,arg\], got no-equals/);
  });
});
