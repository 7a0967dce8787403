/** `changes --format qemu-map` (src/report/qemu-map.ts): qemu-img map --output=json's shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeQemuMap } from '../../src/report/qemu-map.js';

async function render(batches: { offset: number; length: number }[][], imageSize: number): Promise<string> {
  let out = '';
  await writeQemuMap(batches, imageSize, async (t) => { out += t; });
  return out;
}

test('ranges cover the image in order; changed ones are data, unchanged ones are not', async () => {
  const text = await render([[{ offset: 65536, length: 65536 }], [{ offset: 196608, length: 4096 }]], 262144);
  // One object per line, as qemu-img prints them.
  assert.deepEqual(text.split('\n'), [
    '[{ "start": 0, "length": 65536, "depth": 0, "present": false, "zero": false, "data": false, "compressed": false},',
    '{ "start": 65536, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 65536},',
    '{ "start": 131072, "length": 65536, "depth": 0, "present": false, "zero": false, "data": false, "compressed": false},',
    '{ "start": 196608, "length": 4096, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 196608},',
    '{ "start": 200704, "length": 61440, "depth": 0, "present": false, "zero": false, "data": false, "compressed": false}]',
    '',
  ]);
  const parsed = JSON.parse(text) as { start: number; length: number; data: boolean }[];
  let at = 0;
  for (const e of parsed) {
    assert.equal(e.start, at);
    at += e.length;
  }
  assert.equal(at, 262144);
});

test('no change: one unchanged range; everything changed: one data range; an empty image: []', async () => {
  const whole = { start: 0, length: 4096, depth: 0, zero: false, compressed: false };
  assert.deepEqual(JSON.parse(await render([], 4096)), [{ ...whole, present: false, data: false }]);
  assert.deepEqual(JSON.parse(await render([[{ offset: 0, length: 4096 }]], 4096)), [{ ...whole, present: true, data: true, offset: 0 }]);
  assert.equal(await render([], 0), '[]\n');
});
