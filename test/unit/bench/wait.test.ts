/** The benchmark's bounded wait: done when the condition holds, ETIMEDOUT after the limit, and no polling after. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil } from '../../../bench/wait.js';

describe('bench pollUntil', () => {
  test('resolves at once when the condition already holds, without waiting a period', async () => {
    let calls = 0;
    await pollUntil('x', () => { calls++; return true; }, 1000, 60_000);
    assert.equal(calls, 1);
  });

  test('resolves once an async condition holds', async () => {
    let calls = 0;
    await pollUntil('x', async () => ++calls >= 3, 10_000, 1);
    assert.equal(calls, 3);
  });

  test('rejects with ETIMEDOUT naming what it waited for, and stops polling', async () => {
    let calls = 0;
    await assert.rejects(pollUntil('the thing', () => { calls++; return false; }, 30, 1), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ETIMEDOUT');
      assert.match(e.message, /the thing/);
      return true;
    });
    const after = calls;
    await sleep(50);
    assert.equal(calls, after);
  });

  test('rejects with what the condition throws', async () => {
    await assert.rejects(pollUntil('x', () => { throw new Error('server exited with 1'); }, 1000), /server exited with 1/);
  });
});
