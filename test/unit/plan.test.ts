/**
 * Which base a backup copies from (src/backup/plan.ts planBackup): one table, each case the state
 * of TARGET, its sidecar and the source, and the plan or the refusal that must come of it. A TARGET
 * whose contents cannot be told is refused before anything is written, never overwritten on a guess.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { planBackup, type Plan, type PlanInput } from '../../src/backup/plan.js';
import { SIDECAR_FORMAT, type Sidecar } from '../../src/backup/sidecar.js';
import { ErrnoError, type ErrnoName } from '../../src/util/errno.js';

const GEN = '0123456789abcdef0123456789abcdef';
const OLD_GEN = 'fedcba98765432100123456789abcdef';
const id = (n: number, gen = GEN) => `${gen.slice(0, 12)}:${n}`;
const SIZE = 1 << 30;

function sidecar(over: Partial<Sidecar> = {}): Sidecar {
  return {
    format: SIDECAR_FORMAT, imageSize: SIZE, clusterSize: 65536, generation: GEN, checkpoint: 3, checkpointId: id(3),
    state: 'complete', source: '/mnt/disk', updatedAt: '2024-01-01T00:00:00.000Z', runs: [], ...over,
  };
}

/** In progress: a run from `base` (null: a full copy) was cut short. */
function interrupted(base: string | null, over: Partial<Sidecar> = {}): Sidecar {
  const running = { startedAt: '2024-01-02T00:00:00.000Z', base, to: id(5), full: base === null };
  return sidecar({ state: 'in-progress', running, ...over });
}

/** TARGET exists with a complete sidecar at checkpoint 3; the source is at checkpoint 6 of GEN. */
function input(over: Partial<PlanInput> = {}): PlanInput {
  return {
    target: '/backup/disk.img', sidecarPath: '/backup/disk.img.trackfs-backup', full: false, targetExists: true, sidecar: sidecar(),
    interruptedFirstRun: false, source: { describe: '/mnt/disk', imageSize: SIZE, generation: GEN, latestCheckpoint: id(6) },
    ...over,
  };
}

type Outcome = Plan | { error: ErrnoName; message: RegExp };

const FULL_REDO = 'redoing an interrupted full copy';
const HISTORY_REDO = 'redoing an interrupted backup; the source\'s history started over since';

const CASES: [string, Partial<PlanInput>, Outcome][] = [
  ['target missing: a full copy',
    { targetExists: false, sidecar: null },
    { full: true, fullReason: 'target did not exist', base: null, redo: false }],
  ['target missing, a first run was cut short before it made it: a full copy, redone',
    { targetExists: false, sidecar: null, interruptedFirstRun: true },
    { full: true, fullReason: 'target did not exist', base: null, redo: true }],
  ['--full: a full copy, whatever the sidecar says',
    { full: true, sidecar: interrupted(id(1), { generation: OLD_GEN }) },
    { full: true, fullReason: '--full', base: null, redo: false }],
  ['--full without a sidecar',
    { full: true, sidecar: null },
    { full: true, fullReason: '--full', base: null, redo: false }],
  ['a complete sidecar: incremental from its checkpoint',
    {},
    { full: false, base: id(3), redo: false }],
  ['a complete sidecar at the latest checkpoint: incremental, nothing new',
    { sidecar: sidecar({ checkpoint: 6, checkpointId: id(6) }) },
    { full: false, base: id(6), redo: false }],
  ['no sidecar: refused (TARGET may be a copy of something else)',
    { sidecar: null },
    { error: 'EINVAL', message: /exists but has no sidecar.*--full/ }],
  ['a copy of an image of another size: refused',
    { sidecar: sidecar({ imageSize: SIZE / 2 }) },
    { error: 'EINVAL', message: new RegExp(`of ${SIZE / 2} bytes, not ${SIZE}`) }],
  ['another size, even with --since',
    { sidecar: sidecar({ imageSize: SIZE / 2 }), since: id(2) },
    { error: 'EINVAL', message: /bytes, not/ }],
  ['--since: from that checkpoint instead of the sidecar\'s',
    { since: id(1) },
    { full: false, base: id(1), redo: false }],
  ['--since over an interrupted run: the given base, not a redo',
    { since: id(1), sidecar: interrupted(id(2)) },
    { full: false, base: id(1), redo: false }],
  ['--since of another history: refused',
    { since: id(1, OLD_GEN) },
    { error: 'ESRCH', message: /not of this journal's history.*--full/ }],
  ['--since of a checkpoint not yet taken: refused',
    { since: id(7) },
    { error: 'ESRCH', message: /does not exist.*latest checkpoint .* is 6.*--full/ }],
  ['--since that is not an id: refused',
    { since: 'yesterday' },
    { error: 'EINVAL', message: /is not a checkpoint id/ }],
  ['in progress from a base: redone from that base',
    { sidecar: interrupted(id(2)) },
    { full: false, base: id(2), redo: true }],
  ['in progress, a full copy: redone in full',
    { sidecar: interrupted(null) },
    { full: true, fullReason: FULL_REDO, base: null, redo: true }],
  ['in progress, a full copy of another history: redone in full',
    { sidecar: interrupted(null, { generation: OLD_GEN }) },
    { full: true, fullReason: FULL_REDO, base: null, redo: true }],
  ['another history (reset or re-based since): refused',
    { sidecar: sidecar({ generation: OLD_GEN, checkpointId: id(3, OLD_GEN) }) },
    { error: 'EINVAL', message: /holds a copy of history fedcba987654, but \/mnt\/disk is now at 0123456789ab.*--full/ }],
  ['another history, in progress from a base: redone in full (TARGET is half-updated anyway)',
    { sidecar: interrupted(id(2, OLD_GEN), { generation: OLD_GEN }) },
    { full: true, fullReason: HISTORY_REDO, base: null, redo: true }],
  ['the sidecar\'s checkpoint is past the source\'s latest (base unavailable): refused',
    { sidecar: sidecar({ checkpoint: 9, checkpointId: id(9) }) },
    { error: 'ESRCH', message: /checkpoint 0123456789ab:9 does not exist.*--full/ }],
  ['in progress from a base the source no longer has: refused',
    { sidecar: interrupted(id(8)) },
    { error: 'ESRCH', message: /does not exist.*--full/ }],
  ['a sidecar whose id is of another history than its generation says: refused',
    { sidecar: sidecar({ checkpointId: id(3, OLD_GEN) }) },
    { error: 'ESRCH', message: /not of this journal's history/ }],
];

describe('planBackup', () => {
  for (const [name, over, outcome] of CASES) {
    test(name, () => {
      const p = input(over);
      if ('error' in outcome) {
        assert.throws(() => planBackup(p), (e: unknown) => {
          assert.ok(e instanceof ErrnoError, `an ErrnoError: ${String(e)}`);
          assert.equal(e.code, outcome.error, e.message);
          assert.match(e.message, outcome.message);
          assert.doesNotMatch(e.message, /\n/, 'one line');
          return true;
        });
      } else {
        assert.deepEqual(planBackup(p), outcome);
      }
    });
  }

  test('planning changes nothing of what it is given', () => {
    const p = input({ sidecar: interrupted(id(2)) });
    const before = structuredClone(p);
    planBackup(p);
    assert.deepEqual(p, before);
  });
});
