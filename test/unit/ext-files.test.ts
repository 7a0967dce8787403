/** `changes --files`: the ext superblock and dumpe2fs's layout, read as e2fsprogs 1.47 prints it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLayout, readExtSuperblock } from '../../src/report/ext-files.js';

const DUMPE2FS = `Group 0: (Blocks 0-32767) csum 0x1234 [ITABLE_ZEROED]
  Primary superblock at 0, Group descriptors at 1-1
  Reserved GDT blocks at 2-16
  Block bitmap at 17 (+17), csum 0x6145e3ac
  Inode bitmap at 33 (+33), csum 0x010a57fb
  Inode table at 49-560 (+49)
  28000 free blocks, 8181 free inodes, 2 directories, 8181 unused inodes
  Free blocks: 4768-32767
  Free inodes: 12-8192
Group 1: (Blocks 32768-65535) csum 0x75bc [INODE_UNINIT, BLOCK_UNINIT, ITABLE_ZEROED]
  Backup superblock at 32768, Group descriptors at 32769-32769
  Block bitmap at 18 (bg #0 + 18), csum 0x00000000
  Free blocks: 32770-40000, 40002, 40010-65535
`;

test('parseLayout: metadata ranges by kind, and free ranges', () => {
  const { metadata, free } = parseLayout(DUMPE2FS);
  assert.deepEqual(metadata, [
    ['superblock and group descriptors', [0, 0]], ['superblock and group descriptors', [1, 1]],
    ['reserved GDT blocks', [2, 16]], ['block bitmap', [17, 17]], ['inode bitmap', [33, 33]], ['inode table', [49, 560]],
    ['superblock and group descriptors', [32768, 32768]], ['superblock and group descriptors', [32769, 32769]],
    ['block bitmap', [18, 18]],
  ]);
  assert.deepEqual(free, [[4768, 32767], [32770, 40000], [40002, 40002], [40010, 65535]]);
});

test('readExtSuperblock: magic, block size and the kind from the feature flags; null when not ext', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-ext-test-'));
  try {
    const sb = (logBlock: number, compat: number, incompat: number) => {
      const b = Buffer.alloc(4096);
      b.writeUInt32LE(1000, 1024 + 4);
      b.writeUInt32LE(logBlock, 1024 + 24);
      b.writeUInt16LE(0xef53, 1024 + 56);
      b.writeUInt32LE(compat, 1024 + 92);
      b.writeUInt32LE(incompat, 1024 + 96);
      return b;
    };
    const cases: Array<[Buffer, unknown]> = [
      [sb(2, 0x4, 0x40 | 0x2), { kind: 'ext4', blockSize: 4096, blocks: 1000 }],
      [sb(0, 0x4, 0x2), { kind: 'ext3', blockSize: 1024, blocks: 1000 }],
      [sb(0, 0, 0x2), { kind: 'ext2', blockSize: 1024, blocks: 1000 }],
      [Buffer.alloc(4096), null],
      [Buffer.alloc(100), null],
    ];
    for (const [i, [data, want]] of cases.entries()) {
      await writeFile(join(dir, `img${i}`), data);
      assert.deepEqual(await readExtSuperblock(join(dir, `img${i}`)), want, `case ${i}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
