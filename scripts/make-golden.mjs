#!/usr/bin/env node
// Writes test/fixtures/golden-v1.trackfs, golden-v2.trackfs and golden-v3.trackfs, the committed
// journals that pin format versions 1, 2 and 3 (docs/journal-format.md, "The golden files").
// Deterministic: no random generation, no clock, so running it again reproduces the committed
// bytes exactly. Build first (npx tsc -p tsconfig.json).
//
//   node scripts/make-golden.mjs            write the files
//   node scripts/make-golden.mjs --check    exit 1 if a committed file differs from what this makes
//
// The file is written byte by byte with the encoders (not through Journal.create) so that its
// contents do not depend on randomness or the time of day.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CLUSTERS_PER_PAGE,
  clusterCountFor,
  encodeHeader,
  encodeMetaPage,
  encodePage,
  ERA_PAGES_PER_BITMAP_PAGE,
  ERAS_PER_PAGE,
  eraIndexOffset,
  eraPagesOffset,
  HEADER_SLOT_SIZE,
  headerSlotFor,
  journalFileSize,
  PAGE_BITMAP_BYTES,
  PAGE_SIZE,
  pageOffset,
} from '../dist/src/journal/format.js';

const out = fileURLToPath(new URL('../test/fixtures/golden-v1.trackfs', import.meta.url));
const outV2 = fileURLToPath(new URL('../test/fixtures/golden-v2.trackfs', import.meta.url));
const outV3 = fileURLToPath(new URL('../test/fixtures/golden-v3.trackfs', import.meta.url));

const IMAGE_SIZE = 10 * 1024 ** 3 + 12345; // 163841 clusters of 64 KiB, the last one 12345 bytes
const CLUSTER_SIZE = 64 * 1024;
const GENERATION = '0123456789abcdef0123456789abcdef';
const OLD_GENERATION = 'fedcba9876543210fedcba9876543210';
const BOOT_ID = '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10';

const base = {
  version: 1,
  imageSize: IMAGE_SIZE,
  clusterSize: CLUSTER_SIZE,
  generation: GENERATION,
  reason: '',
  durability: 'ordered',
  createdAt: 1_700_000_000_000,
  bootId: BOOT_ID,
  imagePath: '/images/golden.img',
};
// The newest header (sequence 4, slot 0): closed cleanly.
const current = { ...base, sequence: 4n, state: 'clean', updatedAt: 1_700_000_360_000, imageMtimeNs: 1_700_000_359_123_456_789n, pid: 0 };
// The one before it (sequence 3, slot 1): the activation of the mount that was then unmounted.
const previous = { ...base, sequence: 3n, state: 'active', updatedAt: 1_700_000_001_000, imageMtimeNs: 0n, pid: 4242 };

const clusterCount = clusterCountFor(IMAGE_SIZE, CLUSTER_SIZE);
const changed = [0, 1, 2, 100, CLUSTERS_PER_PAGE - 1, CLUSTERS_PER_PAGE, ...Array.from({ length: 10 }, (_, i) => 40000 + i), clusterCount - 1];

function bitsFor(pageIndex, clusters) {
  const bits = new Uint8Array(PAGE_BITMAP_BYTES);
  for (const c of clusters) {
    if (Math.floor(c / CLUSTERS_PER_PAGE) !== pageIndex) continue;
    const i = c % CLUSTERS_PER_PAGE;
    bits[i >> 3] |= 1 << (i & 7);
  }
  return bits;
}

const size = journalFileSize(IMAGE_SIZE, CLUSTER_SIZE, 1);
if (size > 64 * 1024) throw new Error(`golden journal would be ${size} bytes; keep it under 64 KiB`);
const file = Buffer.alloc(size); // pages 2 and 4 stay all zero: never written

for (const h of [current, previous]) encodeHeader(h).copy(file, headerSlotFor(h.sequence) * HEADER_SLOT_SIZE);
const pages = new Set(changed.map((c) => Math.floor(c / CLUSTERS_PER_PAGE)));
for (const p of pages) encodePage(file.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE), p, GENERATION, bitsFor(p, changed));
// Page 3 holds bits of an older generation (the bitmap was reset since): it must read as empty.
const stalePage = 3;
encodePage(file.subarray(pageOffset(stalePage), pageOffset(stalePage) + PAGE_SIZE), stalePage, OLD_GENERATION,
  bitsFor(stalePage, Array.from({ length: 8 }, (_, i) => stalePage * CLUSTERS_PER_PAGE + i)));

/* ------------------------------------------------------------------ version 2 ---- */
// 300 MiB + 12345 bytes at 4 KiB clusters: 76804 clusters (the last one 57 bytes), 3 bitmap pages. Epoch 4 is current:
// checkpoints 1-3 were taken. The file ends after the era pages of bitmap page 0 (the only page
// ever folded): a reader takes the missing rest as zeros.
const V2 = {
  imageSize: 300 * 1024 ** 2 + 12345,
  clusterSize: 4096,
  generation: '00112233445566778899aabbccddeeff',
};
const v2Header = {
  version: 2, imageSize: V2.imageSize, clusterSize: V2.clusterSize, generation: V2.generation, reason: '', durability: 'strict',
  createdAt: 1_700_000_000_000, bootId: BOOT_ID, imagePath: '/images/golden2.img',
  sequence: 9n, state: 'clean', updatedAt: 1_700_000_900_000, imageMtimeNs: 1_700_000_899_000_000_001n, pid: 0,
  epoch: 4, lastCheckpointAt: 1_700_000_800_000, generationAt: 1_700_000_100_000,
};
const v2Older = { ...v2Header, sequence: 8n, state: 'active', updatedAt: 1_700_000_800_000, imageMtimeNs: 0n, pid: 4242 };
const v2Pages = 3;
const v2Size = eraPagesOffset(v2Pages, 1);
const v2 = Buffer.alloc(v2Size);
for (const h of [v2Header, v2Older]) encodeHeader(h).copy(v2, headerSlotFor(h.sequence) * HEADER_SLOT_SIZE);
const page = (p) => v2.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE);
// Page 0: the current epoch (4). Page 1: bits of epoch 2, not folded yet. Page 2: epoch 3.
encodePage(page(0), 0, V2.generation, bitsFor(0, [3, 100]), 4);
encodePage(page(1), 1, V2.generation, bitsFor(1, [32517, 32518, 32519]), 2);
encodePage(page(2), 2, V2.generation, bitsFor(2, [76802]), 3);
// Era index: only page 0 was ever folded, up to epoch 3.
const index = new Uint32Array(ERAS_PER_PAGE);
index[0] = 3;
encodeMetaPage(v2.subarray(eraIndexOffset(v2Pages, 0), eraIndexOffset(v2Pages, 0) + PAGE_SIZE), 'era-index', 0, V2.generation, index);
// Era pages of page 0: cluster 3 last written in epoch 1, 50 in 2, 1016 (second era page) in 3,
// 32511 (the page's last cluster, last era page) in 1.
const eras = new Uint32Array(CLUSTERS_PER_PAGE);
eras[3] = 1; eras[50] = 2; eras[1016] = 3; eras[32511] = 1;
for (let k = 0; k < ERA_PAGES_PER_BITMAP_PAGE; k++) {
  const at = eraPagesOffset(v2Pages, 0) + k * PAGE_SIZE;
  encodeMetaPage(v2.subarray(at, at + PAGE_SIZE), 'era', k, V2.generation, eras.subarray(k * ERAS_PER_PAGE, (k + 1) * ERAS_PER_PAGE));
}

/* ------------------------------------------------------------------ version 3 ---- */
// 200 MiB + 1000 bytes at 4 KiB clusters: 51201 clusters (the last one 1000 bytes), 2 bitmap
// pages, 1 era index page. Epoch 3 is current. Version 3 files have their full size (282,624
// bytes: a shorter one is truncated), and the header counts the pages written in the generation.
const V3 = {
  imageSize: 200 * 1024 ** 2 + 1000,
  clusterSize: 4096,
  generation: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
};
const v3Header = {
  version: 3, imageSize: V3.imageSize, clusterSize: V3.clusterSize, generation: V3.generation, reason: '', durability: 'strict',
  createdAt: 1_700_000_000_000, bootId: BOOT_ID, imagePath: '/images/golden3.img',
  sequence: 12n, state: 'clean', updatedAt: 1_700_001_200_000, imageMtimeNs: 1_700_001_199_000_000_007n, pid: 0,
  epoch: 3, lastCheckpointAt: 1_700_001_100_000, generationAt: 1_700_000_100_000,
  bitmapPagesWritten: 2, eraIndexPagesWritten: 1, fsIdentity: 'unique:2147483676',
};
// The header before it: the activation, when only page 0 and the index page were counted.
const v3Older = { ...v3Header, sequence: 11n, state: 'active', updatedAt: 1_700_001_000_000, imageMtimeNs: 0n, pid: 4242, bitmapPagesWritten: 1 };
const v3Pages = 2;
const v3Size = journalFileSize(V3.imageSize, V3.clusterSize, 3);
const v3 = Buffer.alloc(v3Size);
for (const h of [v3Header, v3Older]) encodeHeader(h).copy(v3, headerSlotFor(h.sequence) * HEADER_SLOT_SIZE);
const v3page = (p) => v3.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE);
// Page 0: the current epoch (3). Page 1: bits of epoch 2, not folded yet (51200 is the last cluster).
encodePage(v3page(0), 0, V3.generation, bitsFor(0, [7, 32511]), 3);
encodePage(v3page(1), 1, V3.generation, bitsFor(1, [32512, 51200]), 2);
// Era index: page 0 was folded up to epoch 2; page 1 never.
const v3Index = new Uint32Array(ERAS_PER_PAGE);
v3Index[0] = 2;
encodeMetaPage(v3.subarray(eraIndexOffset(v3Pages, 0), eraIndexOffset(v3Pages, 0) + PAGE_SIZE), 'era-index', 0, V3.generation, v3Index);
// Era pages of page 0: cluster 7 last written in epoch 1, 2000 (second era page) in 2, 20000 in 1.
const v3Eras = new Uint32Array(CLUSTERS_PER_PAGE);
v3Eras[7] = 1; v3Eras[2000] = 2; v3Eras[20000] = 1;
for (let k = 0; k < ERA_PAGES_PER_BITMAP_PAGE; k++) {
  const at = eraPagesOffset(v3Pages, 0) + k * PAGE_SIZE;
  encodeMetaPage(v3.subarray(at, at + PAGE_SIZE), 'era', k, V3.generation, v3Eras.subarray(k * ERAS_PER_PAGE, (k + 1) * ERAS_PER_PAGE));
}

const files = [[out, file], [outV2, v2], [outV3, v3]];
if (process.argv.includes('--check')) {
  let bad = 0;
  for (const [path, bytes] of files) {
    if (!existsSync(path)) { console.error(`${path} is missing`); bad++; }
    else if (readFileSync(path).equals(bytes)) console.log(`${path} is up to date (${bytes.length} bytes)`);
    else { console.error(`${path} differs from what scripts/make-golden.mjs makes`); bad++; }
  }
  process.exit(bad ? 1 : 0);
} else {
  for (const [path, bytes] of files) {
    writeFileSync(path, bytes);
    console.log(`wrote ${path}: ${bytes.length} bytes`);
  }
}
