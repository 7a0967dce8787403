/**
 * `changes --format bmap` (src/report/bmap.ts): bmap-tools format 2.0, checked the way bmaptool
 * checks it (the file's checksum with its own field zeroed; each range's SHA-256 of its bytes).
 * The end-to-end test runs the real bmaptool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBmap } from '../../src/report/bmap.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function withData(size: number, fn: (path: string, data: Buffer) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-bmap-test-'));
  try {
    const data = randomBytes(size);
    await writeFile(join(dir, 'image'), data);
    await fn(join(dir, 'image'), data);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Batches = { offset: number; length: number }[][];

async function render(batches: Batches, dataPath: string, imageSize: number, blockSize: number): Promise<string> {
  let out = '';
  const describe = 'changes since checkpoint abc:1 -- test';
  await writeBmap(batches, { imageSize, blockSize, dataPath, describe }, async (t) => { out += t; });
  return out;
}

test('header fields, ranges with the SHA-256 of their bytes, and the file checksum bmaptool verifies', async () => {
  const BS = 4096;
  const size = 10 * BS + 1000; // the last block is short
  await withData(size, async (path, data) => {
    const batches = [[{ offset: BS, length: 2 * BS }], [{ offset: 5 * BS, length: BS }, { offset: 10 * BS, length: 1000 }]];
    const text = await render(batches, path, size, BS);
    const field = (name: string) => /<(\w+)> (\S+) <\/\1>/g.exec(text.slice(text.indexOf(`<${name}>`)))![2];
    assert.equal(field('ImageSize'), String(size));
    assert.equal(field('BlockSize'), String(BS));
    assert.equal(field('BlocksCount'), '11');
    assert.equal(field('MappedBlocksCount'), '4');
    assert.equal(field('ChecksumType'), 'sha256');
    assert.match(text, /^<\?xml version="1.0" \?>\n/);
    assert.match(text, /<bmap version="2.0">/);
    const ranges = [...text.matchAll(/<Range chksum="([0-9a-f]{64})"> (\d+)(?:-(\d+))? <\/Range>/g)].map((m) => ({ sum: m[1], first: Number(m[2]), last: Number(m[3] ?? m[2]) }));
    assert.deepEqual(ranges.map((r) => [r.first, r.last]), [[1, 2], [5, 5], [10, 10]]);
    for (const r of ranges) {
      assert.equal(r.sum, sha(data.subarray(r.first * BS, Math.min(size, (r.last + 1) * BS))), `range ${r.first}-${r.last}`);
    }
    // bmaptool: the first occurrence of the file checksum, replaced by zeros, hashes to itself.
    const fileSum = field('BmapFileChecksum')!;
    assert.equal(text.indexOf(fileSum), text.indexOf('<BmapFileChecksum>') + '<BmapFileChecksum> '.length);
    assert.equal(sha(text.replace(fileSum, '0'.repeat(64))), fileSum);
    // Well-formed where bmaptool's XML parser is strict: no "--" inside a comment.
    for (const c of text.matchAll(/<!--([\s\S]*?)-->/g)) assert.ok(!c[1]!.includes('--'), `comment holds "--": ${c[1]}`);
    assert.match(text, /<\/BlockMap>\n<\/bmap>\n$/);
  });
});

test('no changes: no range, 0 mapped blocks; an unreadable data path fails in one line', async () => {
  await withData(8192, async (path) => {
    const text = await render([], path, 8192, 4096);
    assert.match(text, /<MappedBlocksCount> 0 <\/MappedBlocksCount>/);
    assert.doesNotMatch(text, /<Range/);
    await assert.rejects(render([[{ offset: 0, length: 4096 }]], `${path}.missing`, 8192, 4096), (e: Error) => /cannot open .*missing/.test(e.message) && !e.message.includes('\n'));
  });
});
