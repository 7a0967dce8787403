/**
 * The durability record (issue 14): its codec (a damaged record never reads as one that holds
 * fewer clusters), where and how it is kept (a private state directory, written whole, 0600), and
 * the whole path with a real journal file: the daemon's keeper writes it when the journal fails,
 * recovery merges it, a checkpoint or mount makes it durable and removes it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeRecord,
  DamagedRecordError,
  encodeRecord,
  lookupRecord,
  MAX_RECORD_PAGES,
  recordPath,
  removeRecord,
  writeRecord,
  type DurabilityRecord,
} from '../../src/journal/durability-record.js';
import { fsIdentityOf } from '../../src/journal/fs-identity.js';
import { FaultInjectingIo, FileJournalIo } from '../../src/journal/journal-io.js';
import { Journal } from '../../src/journal/journal.js';
import { checkpointJournalFile, openJournalOffline, type ImageLookup } from '../../src/journal/open.js';
import { CLUSTERS_PER_PAGE, PAGE_BITMAP_BYTES, PAGE_SIZE, pageOffset } from '../../src/journal/format.js';
import { currentBootId } from '../../src/util/boot-id.js';
import { DurabilityKeeper } from '../../src/mount/durability.js';
import type { Logger } from '../../src/util/logger.js';

const GEN = '0123456789abcdef'.repeat(2);
let root = '';

before(() => {
  root = mkdtempSync(join(tmpdir(), 'trackfs-record-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

function scratch(name: string): string {
  const d = join(root, name);
  mkdirSync(d, { mode: 0o700 });
  return d;
}

function bitsWith(...bitIndexes: number[]): Uint8Array {
  const b = new Uint8Array(PAGE_BITMAP_BYTES);
  for (const i of bitIndexes) b[i >> 3] = b[i >> 3]! | (1 << (i & 7));
  return b;
}

function sample(over: Partial<DurabilityRecord> = {}): DurabilityRecord {
  return {
    generation: GEN, journal: { path: '/mnt/usb/disk.trackfs', device: '7:3', inode: '131' }, lostAt: 1_796_000_000_000, reason: 'EIO: i/o error, fdatasync',
    errorCode: 'EIO', epoch: 2, imageSize: 1 << 30, clusterSize: 65536, complete: true, pagesAtRisk: 2,
    pages: [{ index: 0, bits: bitsWith(1, 2, 3) }, { index: 3, bits: bitsWith(4000) }], ...over,
  };
}

describe('record codec', () => {
  test('round trip', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record(
            { index: fc.nat({ max: 100_000 }), bits: fc.uint8Array({ minLength: PAGE_BITMAP_BYTES, maxLength: PAGE_BITMAP_BYTES }) },
            { noNullPrototype: true },
          ),
          { maxLength: 4 },
        ),
        fc.string(),
        fc.boolean(),
        (pages, reason, complete) => {
          const r = sample({ pages, reason, complete, pagesAtRisk: pages.length + 1 });
          assert.deepEqual(decodeRecord(encodeRecord(r)), r);
        },
      ),
      { numRuns: 50 },
    );
  });

  test('any changed byte, or a cut anywhere, is damage: never a record with fewer clusters', () => {
    const bytes = encodeRecord(sample());
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const b = Buffer.from(bytes);
      b[at] = b[at]! ^ x;
      assert.throws(() => decodeRecord(b), DamagedRecordError);
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), (len) => {
      assert.throws(() => decodeRecord(bytes.subarray(0, len)), DamagedRecordError);
    }), { numRuns: 100 });
  });

  test('a record that verifies but is not ours, or is malformed, is damage', () => {
    const sign = (body: string) => Buffer.from(`${body}\nsha256:${require256(body)}\n`);
    const ok = JSON.parse(encodeRecord(sample()).toString().split('\n')[0]!) as Record<string, unknown>;
    for (const change of [{ format: 'other' }, { version: 2 }, { generation: 'xyz' }, { epoch: 0 }, { pages: [[0, 'AAAA']] }, { pages: [['0', '']] }, { complete: 'yes' }]) {
      assert.throws(() => decodeRecord(sign(JSON.stringify({ ...ok, ...change }))), DamagedRecordError, JSON.stringify(change));
    }
    assert.doesNotThrow(() => decodeRecord(sign(JSON.stringify(ok))));
  });
});

// node:crypto's sha256, as the record computes it.
import { createHash } from 'node:crypto';
function require256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

describe('keeping records', () => {
  test('written whole (0600, no temp file left) into a directory it makes 0700; found; removed', async () => {
    const dir = join(root, 'made', 'state');
    const path = await writeRecord(dir, sample());
    assert.equal(path, recordPath(dir, GEN));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), [`${GEN}.loss`]);
    const found = await lookupRecord(dir, GEN);
    assert.equal(found.kind, 'found');
    assert.deepEqual(found.kind === 'found' && found.record, sample());
    assert.deepEqual(await lookupRecord(dir, 'ff'.repeat(16)), { kind: 'none' });
    // A newer record replaces the older one.
    await writeRecord(dir, sample({ pages: [] }));
    const again = await lookupRecord(dir, GEN);
    assert.equal(again.kind === 'found' && again.record.pages.length, 0);
    writeFileSync(join(dir, `.${GEN}.0badc0ffee00.tmp`), 'half a record');
    assert.equal((await lookupRecord(dir, GEN)).kind, 'found', 'a temporary file is never read');
    assert.equal(await removeRecord(dir, GEN), true);
    assert.deepEqual(readdirSync(dir), [], 'the leftover of a killed writer goes with it');
    assert.equal(await removeRecord(dir, GEN), false);
    assert.deepEqual(await lookupRecord(dir, GEN), { kind: 'none' });
    assert.deepEqual(await lookupRecord(join(root, 'never-made'), GEN), { kind: 'none' });
  });

  test('a state directory others could change, or a symbolic link, is refused for writing and makes lookups unusable', async () => {
    const open777 = scratch('open');
    chmodSync(open777, 0o755);
    await assert.rejects(writeRecord(open777, sample()), /mode 0755.*chmod 700/);
    const l = await lookupRecord(open777, GEN);
    assert.equal(l.kind, 'unusable');
    const target = scratch('target');
    const link = join(root, 'link');
    symlinkSync(target, link);
    await assert.rejects(writeRecord(link, sample()), /symbolic link/);
    assert.equal((await lookupRecord(link, GEN)).kind, 'unusable');
  });

  test('a record that is a symbolic link or does not verify is damaged', async () => {
    const dir = scratch('damaged');
    writeFileSync(join(root, 'elsewhere'), encodeRecord(sample()));
    symlinkSync(join(root, 'elsewhere'), recordPath(dir, GEN));
    assert.equal((await lookupRecord(dir, GEN)).kind, 'damaged');
    rmSync(recordPath(dir, GEN));
    const b = encodeRecord(sample());
    b[40] = b[40]! ^ 1;
    writeFileSync(recordPath(dir, GEN), b, { mode: 0o600 });
    const l = await lookupRecord(dir, GEN);
    assert.equal(l.kind, 'damaged');
    assert.match(l.kind === 'damaged' ? l.why : '', /checksum/);
  });
});

/* ------------------------------------------------ the whole path, on a real file ---- */

const CS = 4096;
const CLUSTERS = 2 * CLUSTERS_PER_PAGE;
const noImage: ImageLookup = async () => ({ facts: null, note: 'no image in this test' });

function quietLogger(): Logger {
  const l = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => l };
  return l as unknown as Logger;
}

/** The last cluster of each page that `clusters` touch: written first, so those pages are counted. */
function pageWarmers(clusters: number[]): number[] {
  return [...new Set(clusters.map((c) => Math.floor(c / CLUSTERS_PER_PAGE)))].map((p) => (p + 1) * CLUSTERS_PER_PAGE - 1);
}

/**
 * A journal activated in ordered mode with the daemon's keeper as its guard; its pages first
 * written and synced (a page's first write syncs in both modes), then clusters recorded
 * (acknowledged, unsynced), then its fdatasync fails and the rewrites never reach the disk: each
 * page is left as the last good sync made it.
 */
async function journalThatLostPages(dir: string, clusters: number[]): Promise<{ path: string; generation: string; events: string[] }> {
  const path = join(dir, 'j.trackfs');
  const file = await FileJournalIo.open(path, { create: true });
  const io = new FaultInjectingIo(file);
  const j = await Journal.create(io, { imageSize: CLUSTERS * CS, clusterSize: CS, imagePath: join(dir, 'image') });
  await j.activate({ durability: 'ordered', bootId: await currentBootId(), pid: 1, imagePath: join(dir, 'image'), fsIdentity: await fsIdentityOf(file.fd) });
  const events: string[] = [];
  const keeper = new DurabilityKeeper(path, quietLogger(), (e) => events.push(e));
  const st = await file.stat();
  keeper.attach({ dev: st.dev, ino: st.ino });
  j.setDurabilityGuard(keeper);
  for (const c of pageWarmers(clusters)) await j.record(c, c)!;
  assert.equal(j.hasUncountedPages, false);
  const pages = [...new Set(clusters.map((c) => Math.floor(c / CLUSTERS_PER_PAGE)))];
  const fh = await open(path, 'r+');
  const synced = new Map<number, Buffer>();
  for (const p of pages) {
    const b = Buffer.alloc(PAGE_SIZE);
    await fh.read(b, 0, PAGE_SIZE, pageOffset(p));
    synced.set(p, b);
  }
  for (const c of clusters) await j.record(c, c)!;
  io.inject('datasync', 'EIO');
  await assert.rejects(j.sync());
  const generation = j.generation;
  await j.abandon();
  // What the failed disk kept: none of the writes since the last good sync.
  for (const [p, b] of synced) await fh.write(b, 0, PAGE_SIZE, pageOffset(p));
  await fh.close();
  return { path, generation, events };
}

function setOfRuns(runs: Iterable<{ start: number; count: number }>): Set<number> {
  const s = new Set<number>();
  for (const r of runs) for (let c = r.start; c < r.start + r.count; c++) s.add(c);
  return s;
}

describe('the record, end to end on a journal file', () => {
  const saved = process.env['TRACKFS_STATE_DIR'];
  after(() => {
    if (saved === undefined) delete process.env['TRACKFS_STATE_DIR'];
    else process.env['TRACKFS_STATE_DIR'] = saved;
  });

  test('written by the keeper when the journal fails, merged by recovery (trusted), removed once the bits are durable again', async () => {
    const dir = scratch('e2e-merge');
    const state = join(dir, 'state');
    process.env['TRACKFS_STATE_DIR'] = state;
    const clusters = [5, 6, CLUSTERS_PER_PAGE + 77];
    const { path, generation, events } = await journalThatLostPages(dir, clusters);
    // Kept: every bit of the pages at risk (the clusters and each page's first, synced bit).
    assert.ok(events.some((e) => /disk failed at .* before changes were synced.*5 cluster\(s\) kept in/.test(e)), JSON.stringify(events));
    assert.equal((await lookupRecord(state, generation)).kind, 'found');

    // Offline: the record's clusters are listed, and the journal is trusted.
    const off = await openJournalOffline(path, noImage);
    try {
      assert.equal(off.verdict.trusted, true, off.verdict.reason);
      assert.ok(off.verdict.events.some((e) => /were merged/.test(e)));
      const listed = setOfRuns((await off.journal.changedSince(0)).runs());
      for (const c of clusters) assert.ok(listed.has(c), `cluster ${c} not listed`);
    } finally {
      await off.journal.abandon();
    }
    assert.equal((await lookupRecord(state, generation)).kind, 'found', 'an offline read changes nothing');

    // A damaged record: untrusted, whatever it still holds.
    const good = readFileSync(recordPath(state, generation));
    const bad = Buffer.from(good);
    bad[bad.length - 5] = bad[bad.length - 5] === 0x30 ? 0x31 : 0x30;
    writeFileSync(recordPath(state, generation), bad);
    const damaged = await openJournalOffline(path, noImage);
    await damaged.journal.abandon();
    assert.equal(damaged.verdict.trusted, false);
    assert.match(damaged.verdict.reason, /is damaged/);
    writeFileSync(recordPath(state, generation), good);

    // An offline checkpoint makes the merged bits durable in the journal and removes the record.
    await checkpointJournalFile(path, noImage);
    assert.deepEqual(await lookupRecord(state, generation), { kind: 'none' });
    const after = await openJournalOffline(path, noImage);
    try {
      assert.equal(after.verdict.trusted, true, after.verdict.reason);
      const listed = setOfRuns((await after.journal.changedSince(0)).runs());
      for (const c of clusters) assert.ok(listed.has(c), `cluster ${c} lost after the checkpoint`);
    } finally {
      await after.journal.abandon();
    }
  });

  test('without the record, the same journal is untrusted only if its storage shows the loss; a state directory others control is untrusted', async () => {
    const dir = scratch('e2e-norecord');
    const state = join(dir, 'state');
    process.env['TRACKFS_STATE_DIR'] = state;
    const { path, generation } = await journalThatLostPages(dir, [9]);
    // Same mount, the fdatasync succeeds: only the record could have told (it is why it exists).
    rmSync(recordPath(state, generation));
    const off = await openJournalOffline(path, noImage);
    await off.journal.abandon();
    assert.equal(off.verdict.trusted, true);
    assert.ok(!setOfRuns(off.journal.cache.marked.runs()).has(9), 'this is the loss the record prevents');
    chmodSync(state, 0o770);
    const unsafe = await openJournalOffline(path, noImage);
    await unsafe.journal.abandon();
    assert.equal(unsafe.verdict.trusted, false);
    assert.match(unsafe.verdict.reason, /cannot be checked.*mode 0770/);
  });

  test('a keeper that cannot write the record: the journal distrusts itself', async () => {
    const dir = scratch('e2e-nodir');
    const state = join(dir, 'state');
    mkdirSync(state, { mode: 0o755 });
    process.env['TRACKFS_STATE_DIR'] = state;
    const path = join(dir, 'j.trackfs');
    const file = await FileJournalIo.open(path, { create: true });
    const io = new FaultInjectingIo(file);
    const j = await Journal.create(io, { imageSize: CLUSTERS * CS, clusterSize: CS, imagePath: '/i' });
    await j.activate({ durability: 'ordered', bootId: 'b', pid: 1, imagePath: '/i' });
    const keeper = new DurabilityKeeper(path, quietLogger(), () => {});
    keeper.attach({ dev: 0n, ino: 1n });
    j.setDurabilityGuard(keeper);
    await j.record(CLUSTERS_PER_PAGE - 1, CLUSTERS_PER_PAGE - 1)!; // page 0 counted (synced)
    await j.record(1, 1)!; // a rewrite: acknowledged unsynced
    io.inject('datasync', 'EIO');
    await assert.rejects(j.sync());
    assert.equal(j.state, 'untrusted');
    assert.match(j.headerSnapshot().reason, /record of those changes could not be kept.*mode 0755/);
    assert.equal(keeper.status().durabilityLoss?.record, null);
    await j.abandon();
  });

  test('more pages at risk than a record keeps: the record says so (and recovery distrusts it, recovery.test.ts)', async () => {
    const dir = scratch('e2e-toomany');
    process.env['TRACKFS_STATE_DIR'] = join(dir, 'state');
    const keeper = new DurabilityKeeper('/j', quietLogger(), () => {});
    keeper.attach({ dev: 0n, ino: 1n });
    const bits = bitsWith(0);
    const pages = Array.from({ length: MAX_RECORD_PAGES + 1 }, (_, index) => ({ index, bits }));
    await keeper.lost({ generation: GEN, epoch: 1, imageSize: 1 << 40, clusterSize: 4096, at: 1, error: { code: 'EIO', message: 'EIO', at: 1 }, pages });
    const l = await lookupRecord(join(dir, 'state'), GEN);
    assert.equal(l.kind, 'found');
    if (l.kind !== 'found') return;
    assert.equal(l.record.complete, false);
    assert.equal(l.record.pagesAtRisk, MAX_RECORD_PAGES + 1);
    assert.deepEqual(l.record.pages, []);
  });

  test('a journal of another user: its records are not this user\'s to check, so an ordered crash is untrusted', { skip: process.geteuid?.() !== 0 && 'needs root (chown)' }, async () => {
    const dir = scratch('e2e-foreign');
    process.env['TRACKFS_STATE_DIR'] = join(dir, 'state');
    const { path } = await journalThatLostPages(dir, [3]);
    chownSync(path, 4242, 4242);
    const off = await openJournalOffline(path, noImage);
    await off.journal.abandon();
    assert.equal(off.verdict.trusted, false);
    assert.match(off.verdict.reason, /belongs to uid 4242/);
  });
});
