/**
 * The fuzz kind's mutator must itself never throw: a throw there kills the worker and reads as a
 * failure of trackfs (CI met one: a torn header slot copied from a source already cut short).
 * Sources are whole journals (as in the fuzz kind: the golden files, with garbage after them or
 * not); the draws are arbitrary, so a double damage starts from a first mutant of any length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { mutate } from '../torture/lib/mutations.js';
import { PAGE_SIZE } from '../../src/journal/format.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = ['v1', 'v2', 'v3'].map((v) => readFileSync(`${ROOT}test/fixtures/golden-${v}.trackfs`));

/**
 * A deterministic rng: fast-check's numbers first (so a failure shrinks to the draws that matter),
 * then a fixed generator. Not a cycle of the numbers: a cycle that picks "two damages" again and
 * again would recurse without end, which no real rng does.
 */
function rngFrom(values: number[]): () => number {
  let i = 0;
  let state = 0x9e3779b9;
  return () => {
    if (i < values.length) return values[i++]!;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
/** Draws at the edges of the mutator's choices (first and last of each range) are the telling ones. */
const edgeDraws = [0, 0.49, 0.5, 0.69, 0.7, 0.92, 0.93, 0.999999, ...Array.from({ length: 9 }, (_, k) => (k + 0.5) / 9)];

test('mutate never throws, whatever the source length and the random draws', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: GOLDEN.length - 1 }),
      fc.integer({ min: 0, max: 2 * PAGE_SIZE }),
      fc.array(fc.oneof(fc.constantFrom(...edgeDraws), unit), { minLength: 1, maxLength: 64 }),
      (which, garbage, draws) => {
        const source = Buffer.concat([GOLDEN[which]!, Buffer.alloc(garbage, 0xa5)]);
        const m = mutate(source, rngFrom(draws));
        assert.ok(Buffer.isBuffer(m.bytes));
      },
    ),
    { numRuns: 20_000 },
  );
});

test('a torn newest slot from a source cut inside the older slot (the CI case) does not throw', () => {
  // Draws: damage (r < 0.7), case 8 (two damages): a cut to 730 bytes, then case 5 torn with
  // every sector taken from the other slot.
  const source = GOLDEN[0]!;
  const draws = [0.1, 8 / 9 + 0.01, 1 / 9 + 0.01, 0.6, (730 + 0.5) / (source.length + 1), 5 / 9 + 0.01, 0.9, 0.1];
  const m = mutate(source, rngFrom(draws));
  assert.equal(m.cls, 'double-damage');
  assert.match(m.what, /^truncated to 730 bytes; then newest header slot 0 torn with the older one$/);
});
