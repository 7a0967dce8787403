import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatCheckpointId, parseCheckpointId, resolveCheckpoint } from '../../src/journal/checkpoint-id.js';

const gen = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

describe('checkpoint ids', () => {
  test('format and parse round trip; the id carries the generation', () => {
    fc.assert(fc.property(gen, fc.nat({ max: 2 ** 32 }), (g, n) => {
      const id = formatCheckpointId(g, n);
      assert.match(id, /^[0-9a-f]{12}:\d+$/);
      const ref = parseCheckpointId(id);
      assert.equal(ref.number, n);
      assert.ok(g.startsWith(ref.generation));
    }));
  });

  test('malformed ids are refused with a message that shows the form', () => {
    for (const bad of ['', '4', 'abc:1', 'zzzzzzzzzzzz:1', '001122334455:', '001122334455:-1', '001122334455:1.5', '001122334455:99999999999']) {
      assert.throws(() => parseCheckpointId(bad), (e: Error & { code?: string }) => e.code === 'EINVAL' && /GENERATION:NUMBER/.test(e.message), bad);
    }
  });

  test('resolve: same history and existing number only', () => {
    fc.assert(fc.property(gen, gen, fc.integer({ min: 1, max: 1000 }), fc.nat({ max: 1100 }), (g, other, epoch, n) => {
      fc.pre(g.slice(0, 12) !== other.slice(0, 12));
      const mine = resolveCheckpoint(parseCheckpointId(formatCheckpointId(g, n)), g, epoch);
      if (n < epoch) assert.deepEqual(mine, { base: n });
      else assert.match((mine as { unavailable: string }).unavailable, /does not exist/);
      const theirs = resolveCheckpoint(parseCheckpointId(formatCheckpointId(other, n)), g, epoch);
      assert.match((theirs as { unavailable: string }).unavailable, /not of this journal's history/);
    }));
  });
});
