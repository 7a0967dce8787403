/** Change lists transformed on the way (src/report/stream.ts): a coarser unit, and a tally. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { coarsen, Tally } from '../../src/report/stream.js';
import type { Extent } from '../../src/journal/changes.js';

async function all(gen: AsyncIterable<Extent[]>): Promise<Extent[][]> {
  const out: Extent[][] = [];
  for await (const b of gen) out.push(b);
  return out;
}

const K = 1024;

describe('coarsen', () => {
  test('widens each extent to whole units and merges what then touches', async () => {
    const batches = [[{ offset: 64 * K, length: 64 * K }, { offset: 960 * K, length: 128 * K }], [{ offset: 5000 * K, length: 64 * K }]];
    const got = (await all(coarsen(batches, 1024 * K, 8192 * K))).flat();
    assert.deepEqual(got, [{ offset: 0, length: 2048 * K }, { offset: 4096 * K, length: 1024 * K }]);
  });

  test('the last unit stops at the end of the image; an empty list stays empty', async () => {
    assert.deepEqual((await all(coarsen([[{ offset: 3000, length: 100 }]], 4096, 3500))).flat(), [{ offset: 0, length: 3500 }]);
    assert.deepEqual(await all(coarsen([], 4096, 1 << 20)), []);
    assert.deepEqual(await all(coarsen([[]], 4096, 1 << 20)), []);
  });

  test('property: every byte listed before is listed after, every range is whole units, sorted and apart', async () => {
    const unitArb = fc.constantFrom(2, 4, 8, 16);
    const bitsArb = fc.array(fc.boolean(), { minLength: 1, maxLength: 200 });
    await fc.assert(fc.asyncProperty(bitsArb, unitArb, fc.integer({ min: 1, max: 50 }), async (bits, units, perBatch) => {
      // Clusters of 1 byte: the set bits, as merged extents, in batches.
      const extents: Extent[] = [];
      bits.forEach((b, i) => {
        if (!b) return;
        const last = extents.at(-1);
        if (last && last.offset + last.length === i) last.length++;
        else extents.push({ offset: i, length: 1 });
      });
      const batches: Extent[][] = [];
      for (let i = 0; i < extents.length; i += perBatch) batches.push(extents.slice(i, i + perBatch));
      const out = (await all(coarsen(batches, units, bits.length))).flat();
      const covered = new Set<number>();
      out.forEach((e, i) => {
        assert.equal(e.offset % units, 0);
        assert.ok(e.offset + e.length === bits.length || (e.offset + e.length) % units === 0);
        if (i > 0) assert.ok(out[i - 1]!.offset + out[i - 1]!.length < e.offset, 'sorted and not touching');
        for (let b = e.offset; b < e.offset + e.length; b++) covered.add(b);
      });
      bits.forEach((b, i) => { if (b) assert.ok(covered.has(i), `byte ${i} lost`); });
      for (const b of covered) {
        const unitStart = Math.floor(b / units) * units;
        assert.ok(bits.slice(unitStart, unitStart + units).some(Boolean), `unit of ${b} had nothing`);
      }
    }), { numRuns: 300 });
  });
});

test('Tally counts the extents and bytes that pass through, unchanged', async () => {
  const t = new Tally();
  const batches = [[{ offset: 0, length: 10 }], [{ offset: 20, length: 5 }, { offset: 40, length: 1 }]];
  assert.deepEqual(await all(t.through(batches)), batches);
  assert.deepEqual({ extents: t.extents, bytes: t.bytes }, { extents: 3, bytes: 16 });
});
