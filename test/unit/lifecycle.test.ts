/**
 * The mount's state machine: the transition table is the one place that says which moves are
 * legal, so it is tested move by move, and `finish` (the move an operation makes after an await)
 * never overrides a state someone else reached meanwhile.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Lifecycle, transitionTable, type MountState } from '../../src/mount/lifecycle.js';

const ALL: MountState[] = ['mounting', 'active', 'probing', 'ejecting', 'ejected', 'resuming', 'removed', 'failed', 'unmounting', 'unmounted'];

/** A lifecycle driven to `state` along legal moves. */
function at(state: MountState): Lifecycle {
  const paths: Record<MountState, MountState[]> = {
    mounting: [],
    active: ['active'],
    probing: ['active', 'probing'],
    ejecting: ['active', 'ejecting'],
    ejected: ['active', 'ejecting', 'ejected'],
    resuming: ['active', 'ejecting', 'ejected', 'resuming'],
    removed: ['active', 'removed'],
    failed: ['active', 'failed'],
    unmounting: ['unmounting'],
    unmounted: ['unmounting', 'unmounted'],
  };
  const lc = new Lifecycle();
  for (const s of paths[state]) lc.moveTo(s, 'test');
  assert.equal(lc.state, state);
  return lc;
}

describe('Lifecycle', () => {
  test('every move in the table is allowed and every other move throws an INTERNAL ERROR', () => {
    const table = transitionTable();
    for (const from of ALL) {
      for (const to of ALL) {
        const lc = at(from);
        if (table[from].includes(to)) {
          lc.moveTo(to, 'test');
          assert.equal(lc.state, to);
        } else {
          assert.throws(() => lc.moveTo(to, 'test'), /INTERNAL ERROR: lifecycle .* is not allowed/, `${from} -> ${to} must be refused`);
          assert.equal(lc.state, from);
        }
      }
    }
  });

  test('the paths the daemon relies on', () => {
    const t = transitionTable();
    assert.deepEqual([...t.ejected].sort(), ['failed', 'resuming', 'unmounting'], 'an ejected mount resumes only through resuming');
    assert.ok(t.resuming.includes('active') && t.resuming.includes('ejected'), 'a resume ends active or back to ejected');
    assert.ok(t.resuming.includes('unmounting'), 'an unmount may come during a resume');
    assert.ok(!t.unmounting.includes('active'), 'nothing comes back from unmounting');
    for (const s of ALL) if (s !== 'unmounted') assert.ok(t[s].includes('unmounting') || s === 'unmounting', `${s} can be unmounted`);
  });

  test('only active and probing serve I/O; removed answers ENODEV, the rest EIO', () => {
    for (const s of ALL) {
      const lc = at(s);
      const expected = s === 'active' || s === 'probing' ? null : s === 'removed' ? 'ENODEV' : 'EIO';
      assert.equal(lc.ioError(), expected, s);
      assert.equal(lc.serving, expected === null, s);
    }
  });

  test('finish moves only from the state the operation started in', () => {
    const lc = at('resuming');
    lc.moveTo('unmounting', 'an unmount came during the resume');
    assert.equal(lc.finish('resuming', 'active', 'resumed'), false);
    assert.equal(lc.state, 'unmounting');
    const lc2 = at('resuming');
    assert.equal(lc2.finish('resuming', 'active', 'resumed'), true);
    assert.equal(lc2.state, 'active');
  });

  test('every transition is reported once, with its reason', () => {
    const lc = new Lifecycle();
    const seen: string[] = [];
    lc.onTransition((t) => seen.push(`${t.from}>${t.to}:${t.reason}`));
    lc.moveTo('active', 'mounted');
    lc.moveTo('ejecting', 'eject');
    assert.deepEqual(seen, ['mounting>active:mounted', 'active>ejecting:eject']);
    assert.equal(lc.reason, 'eject');
  });
});
