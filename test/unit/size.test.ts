/** Human sizes for the CLI (src/util/size.ts): parsing option values, and showing byte counts. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatSize, formatSizeShort, parseSize } from '../../src/util/size.js';

describe('sizes', () => {
  test('parseSize', () => {
    const good: [string, number][] = [
      ['64K', 65536], ['64k', 65536], ['1M', 1048576], ['4096', 4096], ['1GiB', 2 ** 30], ['1G', 2 ** 30], ['2T', 2 * 2 ** 40],
      ['1KB', 1024], ['1kib', 1024], [' 8 M ', 8 * 2 ** 20], ['0', 0], ['512B', 512], ['1P', 2 ** 50],
    ];
    for (const [text, n] of good) assert.equal(parseSize(text), n, JSON.stringify(text));
    for (const text of ['', 'K', 'abc', '1.5M', '-1', '1X', '1 M B', '0x10', '64KK', '1e3', '99999999P']) {
      assert.equal(parseSize(text), null, JSON.stringify(text));
    }
  });

  test('formatSizeShort is the inverse of parseSize for whole units', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (n) => {
        assert.equal(parseSize(formatSizeShort(n)), n);
      }),
      { numRuns: 100 },
    );
  });

  test('formatSizeShort takes the largest unit that divides', () => {
    assert.equal(formatSizeShort(65536), '64K');
    assert.equal(formatSizeShort(4 * 2 ** 20), '4M');
    assert.equal(formatSizeShort(3 * 2 ** 40), '3T');
    assert.equal(formatSizeShort(1536), '1536');
  });

  test('formatSize: bytes below 1 KiB, then one decimal below 100 of a unit, none from 100 on', () => {
    const cases: [number, string][] = [
      [0, '0 B'], [1, '1 B'], [1023, '1023 B'], [1024, '1 KiB'], [1536, '1.5 KiB'], [65536, '64 KiB'],
      [8 * 2 ** 20, '8 MiB'], [1.25 * 2 ** 30, '1.3 GiB'], [150 * 2 ** 30, '150 GiB'], [2 ** 40, '1 TiB'], [2 ** 50, '1 PiB'],
      [2048 * 2 ** 50, '2048 PiB'],
    ];
    for (const [n, text] of cases) assert.equal(formatSize(n), text, String(n));
  });
});
