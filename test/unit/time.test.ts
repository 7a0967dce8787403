/** Times for display (src/util/time.ts): showing a time never throws. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime } from '../../src/util/time.js';

describe('isoTime', () => {
  test('a date where there is one, null where Date has none', () => {
    assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
    assert.equal(isoTime(253_402_300_799_999), '9999-12-31T23:59:59.999Z');
    assert.equal(isoTime(-1), '1969-12-31T23:59:59.999Z');
    assert.equal(isoTime(8.64e15), '+275760-09-13T00:00:00.000Z');
    assert.equal(isoTime(8.64e15 + 1), null);
    assert.equal(isoTime(2 ** 53), null);
    assert.equal(isoTime(Number.NaN), null);
    assert.equal(isoTime(Number.POSITIVE_INFINITY), null);
  });
});
