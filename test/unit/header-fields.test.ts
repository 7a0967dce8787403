/**
 * Every header field is range-checked by the decoder (issue 12, item 6): a field out of range is
 * its own validation failure, named, so that nothing downstream (status, unmount, a loader sizing
 * its work by the header) meets a value it cannot handle. And the encoder never writes a header
 * that the decoder would refuse.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  chooseHeader,
  decodeHeader,
  encodeHeader,
  HEADER_SLOT_SIZE,
  JournalFormatError,
  type JournalHeader,
} from '../../src/journal/format.js';
import { isoTime } from '../../src/util/time.js';

const GIB = 1024 ** 3;

const base: JournalHeader = {
  version: 2, sequence: 5n, imageSize: 100 * GIB, clusterSize: 65536, generation: '00'.repeat(16), state: 'clean', reason: '',
  durability: 'strict', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_100_000, imageMtimeNs: 3n, bootId: '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10',
  pid: 0, imagePath: '/images/a.img', epoch: 3, lastCheckpointAt: 1_700_000_050_000, generationAt: 1_700_000_000_000,
} as JournalHeader;

/** The encoded base header with raw bytes changed under a correct checksum. */
function crafted(write: (b: Buffer) => void): Buffer {
  const b = encodeHeader(base);
  write(b);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(crc32(b), 12);
  return b;
}

function expectBadField(buf: Buffer, field: string): void {
  assert.throws(() => decodeHeader(buf), (e: unknown) => {
    assert.ok(e instanceof JournalFormatError, `expected JournalFormatError, got ${String(e)}`);
    assert.equal(e.kind, 'bad-field', e.message);
    assert.ok(e.message.includes(field), `the message names ${field}: ${e.message}`);
    return true;
  });
}

const END_OF_9999 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

describe('header fields out of range', () => {
  const u64 = (at: number, v: bigint) => (b: Buffer) => b.writeBigUInt64LE(v, at);
  const u32 = (at: number, v: number) => (b: Buffer) => b.writeUInt32LE(v, at);
  const cases: [string, string, (b: Buffer) => void][] = [
    ['sequence 2^64 - 1 (the next write would overflow)', 'sequence', u64(16, 2n ** 64n - 1n)],
    ['sequence 2^53', 'sequence', u64(16, 2n ** 53n)],
    ['image size 0', 'imageSize', u64(24, 0n)],
    ['image size 2^53', 'imageSize', u64(24, 2n ** 53n)],
    ['cluster size 3000', 'clusterSize', u32(32, 3000)],
    ['cluster size 128 MiB', 'clusterSize', u32(32, 128 * 1024 * 1024)],
    ['state 3', 'state', (b) => b.writeUInt8(3, 36)],
    ['durability 2', 'durability', (b) => b.writeUInt8(2, 37)],
    ['createdAt 2^53', 'createdAt', u64(56, 2n ** 53n)],
    ['createdAt after the year 9999', 'createdAt', u64(56, BigInt(END_OF_9999 + 1))],
    ['updatedAt 2^53', 'updatedAt', u64(64, 2n ** 53n)],
    ['updatedAt 2^64 - 1', 'updatedAt', u64(64, 2n ** 64n - 1n)],
    ['lastCheckpointAt 2^53', 'lastCheckpointAt', u64(2696, 2n ** 53n)],
    ['generationAt 8.64e15 + 1 (past what Date can show)', 'generationAt', u64(2704, 8_640_000_000_000_001n)],
    ['pid 2^32 - 1', 'pid', u32(80, 2 ** 32 - 1)],
    ['pid past the largest Linux pid', 'pid', u32(80, 4_194_305)],
    ['boot id with a terminal escape', 'bootId', (b) => b.write('\x1b[2J', 84, 'latin1')],
    ['boot id with bytes after its NUL padding', 'bootId', (b) => b.write('abc\0def', 84, 'latin1')],
    ['boot id of non-ASCII bytes', 'bootId', (b) => b.fill(0xe9, 84, 90)],
    ['reason length 511', 'reason', (b) => b.writeUInt16LE(511, 124)],
    ['reason with a terminal escape', 'reason', (b) => { b.writeUInt16LE(5, 124); b.write('\x1b[2Jx', 126, 'latin1'); }],
    ['reason that is not UTF-8', 'reason', (b) => { b.writeUInt16LE(2, 124); b.writeUInt8(0xff, 126); b.writeUInt8(0xfe, 127); }],
    ['reason with a NUL', 'reason', (b) => { b.writeUInt16LE(3, 124); b.write('a\0b', 126, 'latin1'); }],
    ['image path length 2049', 'imagePath', (b) => b.writeUInt16LE(2049, 636)],
    ['image path with a newline', 'imagePath', (b) => { b.writeUInt16LE(4, 636); b.write('/a\nb', 638, 'latin1'); }],
    ['image path with a C1 control', 'imagePath', (b) => { b.writeUInt16LE(4, 636); Buffer.from('/\u009b1m', 'utf8').copy(b, 638); }],
    ['epoch 0', 'epoch', u32(2688, 0)],
    ['epoch 2^32 - 1', 'epoch', u32(2688, 2 ** 32 - 1)],
  ];
  for (const [name, field, write] of cases) {
    test(name, () => expectBadField(crafted(write), field));
  }

  test('version 3: page counts beyond the geometry', () => {
    // 100 GiB at 64 KiB clusters: 1,638,400 clusters, 51 bitmap pages, 1 era index page.
    const v3 = (write: (b: Buffer) => void) => crafted((b) => { b.writeUInt32LE(3, 8); write(b); });
    assert.equal(decodeHeader(v3((b) => { b.writeUInt32LE(51, 2712); b.writeUInt32LE(1, 2716); })).version, 3);
    expectBadField(v3((b) => b.writeUInt32LE(52, 2712)), 'bitmapPagesWritten');
    expectBadField(v3((b) => b.writeUInt32LE(2, 2716)), 'eraIndexPagesWritten');
  });

  test('a slot with a bad field beside a good one: the good one is used, the other reported', () => {
    const bad = crafted(u64(2696, 2n ** 53n));
    const good = encodeHeader({ ...base, sequence: 4n });
    const choice = chooseHeader(Buffer.concat([good, bad.subarray(0, HEADER_SLOT_SIZE)]));
    assert.equal(choice.header.sequence, 4n);
    assert.deepEqual(choice.damaged.map((d) => d.slot), [1]);
    assert.match(choice.damaged[0]!.error.message, /lastCheckpointAt/);
  });

  test('the largest values in range decode, and every time can be shown', () => {
    const h = decodeHeader(crafted((b) => {
      b.writeBigUInt64LE(2n ** 53n - 1n, 16);
      b.writeBigUInt64LE(2n ** 53n - 1n, 24);
      for (const at of [56, 64, 2696, 2704]) b.writeBigUInt64LE(BigInt(END_OF_9999), at);
      b.writeUInt32LE(4_194_304, 80);
      b.writeUInt32LE(2 ** 32 - 2, 2688);
    }));
    for (const t of [h.createdAt, h.updatedAt, h.lastCheckpointAt, h.generationAt]) assert.equal(new Date(t).toISOString(), '9999-12-31T23:59:59.999Z');
    assert.equal(h.pid, 4_194_304);
  });
});

describe('the encoder writes only what the decoder accepts', () => {
  test('control characters in the reason become U+FFFD; a path or boot id that is not printable is dropped', () => {
    const h = decodeHeader(encodeHeader({ ...base, reason: 'bad\x1b[2Jthing\n', imagePath: '/images/a\nb.img', bootId: 'boot\x07' }));
    assert.equal(h.reason, 'bad\uFFFD[2Jthing\uFFFD');
    assert.equal(h.imagePath, '');
    assert.equal(h.bootId, '');
  });

  test('printable text is kept as it is', () => {
    const reason = 'image was modified while not mounted — «ça» 日本 😀';
    const h = decodeHeader(encodeHeader({ ...base, reason, imagePath: '/images/my image $(x).img', bootId: 'boottime-1700000000' }));
    assert.equal(h.reason, reason);
    assert.equal(h.imagePath, '/images/my image $(x).img');
    assert.equal(h.bootId, 'boottime-1700000000');
  });
});

describe('any bytes under a valid checksum (property)', () => {
  test('decode fails with a JournalFormatError, or gives a header that shows and re-encodes exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.array(fc.tuple(fc.integer({ min: 16, max: 2775 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
        (version, edits) => {
          const b = crafted((buf) => {
            buf.writeUInt32LE(version, 8);
            for (const [at, v] of edits) buf[at] = v;
          });
          let h: JournalHeader;
          try {
            h = decodeHeader(b);
          } catch (e) {
            assert.ok(e instanceof JournalFormatError, `not a JournalFormatError: ${String(e)}`);
            return;
          }
          for (const t of [h.createdAt, h.updatedAt, h.lastCheckpointAt, h.generationAt]) assert.notEqual(isoTime(t), null);
          assert.deepEqual(decodeHeader(encodeHeader(h)), h);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
