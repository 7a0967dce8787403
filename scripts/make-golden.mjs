#!/usr/bin/env node
// Writes test/fixtures/golden-v1.trackfs, the committed journal that pins format version 1
// (docs/journal-format.md, "The golden file"). Deterministic: no random generation, no clock, so
// running it again reproduces the committed bytes exactly. Build first (npx tsc -p tsconfig.json).
//
//   node scripts/make-golden.mjs            write the file
//   node scripts/make-golden.mjs --check    exit 1 if the committed file differs from what this makes
//
// The file is written byte by byte with the encoders (not through Journal.create) so that its
// contents do not depend on randomness or the time of day.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CLUSTERS_PER_PAGE,
  clusterCountFor,
  encodeHeader,
  encodePage,
  FORMAT_VERSION,
  HEADER_SLOT_SIZE,
  headerSlotFor,
  journalFileSize,
  PAGE_BITMAP_BYTES,
  PAGE_SIZE,
  pageOffset,
} from '../dist/src/journal/format.js';

const out = fileURLToPath(new URL('../test/fixtures/golden-v1.trackfs', import.meta.url));

const IMAGE_SIZE = 10 * 1024 ** 3 + 12345; // 163841 clusters of 64 KiB, the last one 12345 bytes
const CLUSTER_SIZE = 64 * 1024;
const GENERATION = '0123456789abcdef0123456789abcdef';
const OLD_GENERATION = 'fedcba9876543210fedcba9876543210';
const BOOT_ID = '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10';

const base = {
  version: FORMAT_VERSION,
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

const size = journalFileSize(IMAGE_SIZE, CLUSTER_SIZE);
if (size > 64 * 1024) throw new Error(`golden journal would be ${size} bytes; keep it under 64 KiB`);
const file = Buffer.alloc(size); // pages 2 and 4 stay all zero: never written

for (const h of [current, previous]) encodeHeader(h).copy(file, headerSlotFor(h.sequence) * HEADER_SLOT_SIZE);
const pages = new Set(changed.map((c) => Math.floor(c / CLUSTERS_PER_PAGE)));
for (const p of pages) encodePage(file.subarray(pageOffset(p), pageOffset(p) + PAGE_SIZE), p, GENERATION, bitsFor(p, changed));
// Page 3 holds bits of an older generation (the bitmap was reset since): it must read as empty.
const stalePage = 3;
encodePage(file.subarray(pageOffset(stalePage), pageOffset(stalePage) + PAGE_SIZE), stalePage, OLD_GENERATION,
  bitsFor(stalePage, Array.from({ length: 8 }, (_, i) => stalePage * CLUSTERS_PER_PAGE + i)));

if (process.argv.includes('--check')) {
  const committed = readFileSync(out);
  if (!committed.equals(file)) {
    console.error(`${out} differs from what scripts/make-golden.mjs makes`);
    process.exit(1);
  }
  console.log(`${out} is up to date (${file.length} bytes)`);
} else {
  writeFileSync(out, file);
  console.log(`wrote ${out}: ${file.length} bytes, ${clusterCount} clusters, pages ${[...pages].join(', ')} (+ stale page ${stalePage})`);
}
