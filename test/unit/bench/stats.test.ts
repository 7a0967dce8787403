/** Median, spread and rounding of the report, including the missing values a partial run has. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { median, num, round, spread } from '../../../bench/stats.js';
import { fmt, ratio } from '../../../bench/format.js';

describe('bench stats', () => {
  test('median of odd and even counts; NaN left out; NaN when nothing is left', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([NaN, 5, 1]), 3);
    assert.ok(Number.isNaN(median([])));
    assert.ok(Number.isNaN(median([NaN])));
    // Found by the property below in CI: the sum of two large values overflowed to Infinity.
    assert.equal(median([Number.MAX_VALUE, Number.MAX_VALUE]), Number.MAX_VALUE);
    assert.equal(median([-Number.MAX_VALUE, -Number.MAX_VALUE]), -Number.MAX_VALUE);
    assert.equal(median([-Number.MAX_VALUE, Number.MAX_VALUE]), 0);
  });

  test('median lies between the smallest and the largest value, whatever the order', () => {
    fc.assert(fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }), (xs) => {
      const m = median(xs);
      return m >= Math.min(...xs) && m <= Math.max(...xs) && m === median([...xs].reverse());
    }), { numRuns: 2000 });
  });

  test('spread is (max-min)/median, NaN for a single sample', () => {
    assert.equal(spread([90, 100, 110]), 0.2);
    assert.ok(Number.isNaN(spread([100])));
  });

  test('round gives null, not NaN, for what JSON cannot hold; num turns it back', () => {
    assert.equal(round(0.12345), 0.123);
    assert.equal(round(12.345, 1), 12.3);
    assert.equal(round(NaN), null);
    assert.equal(round(Infinity), null);
    assert.ok(Number.isNaN(num(null)));
    assert.equal(num(2), 2);
  });

  test('numbers as the report writes them', () => {
    assert.equal(fmt(7712, 'IOPS'), '7.7K');
    assert.equal(fmt(992.4, 'IOPS'), '992');
    assert.equal(fmt(201.6, 'MB/s'), '202');
    assert.equal(fmt(NaN, 'MB/s'), '-');
    assert.equal(ratio(0.946), '0.95');
    assert.equal(ratio(NaN), '-');
  });
});
