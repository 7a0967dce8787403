import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { assessJournal, type ImageState, type OrderedFacts } from '../../src/journal/recovery.js';
import type { DurabilityRecord, RecordLookup } from '../../src/journal/durability-record.js';
import { PAGE_BITMAP_BYTES, type JournalHeader } from '../../src/journal/format.js';
import type { LoadReport } from '../../src/journal/journal.js';

const BOOT = '6f1c2a9e-0d44-4b7e-9a51-2a3c7e5d9b10';
const OTHER_BOOT = '00000000-1111-2222-3333-444444444444';
const MTIME = 1_700_000_000_123_456_789n;

function header(over: Partial<JournalHeader>): JournalHeader {
  return {
    version: 1, sequence: 7n, imageSize: 1 << 30, clusterSize: 65536, generation: 'ab'.repeat(16), state: 'clean', reason: '',
    durability: 'strict', createdAt: 1, updatedAt: 2, imageMtimeNs: MTIME, bootId: BOOT, pid: 0, imagePath: '/images/a.img',
    epoch: 1, lastCheckpointAt: 0, generationAt: 1, bitmapPagesWritten: 0, eraIndexPagesWritten: 0, fsIdentity: '',
    ...over,
  };
}

const cleanReport: LoadReport = { damagedHeaderSlots: [], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 };
const file = (mtimeNs: bigint = MTIME): ImageState => ({ mtimeNs, size: 1 << 30, isBlockDevice: false });
const blockDevice: ImageState = { mtimeNs: 5n, size: 1 << 30, isBlockDevice: true };

interface Case {
  name: string;
  header: Partial<JournalHeader>;
  report?: LoadReport;
  boot?: string;
  image?: ImageState | null;
  trusted: boolean;
  crashed: boolean;
  newlyUntrusted: boolean;
  reason?: RegExp;
}

const cases: Case[] = [
  { name: 'untrusted stays untrusted, with its reason', header: { state: 'untrusted', reason: 'image was modified while not mounted' }, trusted: false, crashed: false, newlyUntrusted: false, reason: /^image was modified while not mounted$/ },
  { name: 'untrusted without a recorded reason gets one', header: { state: 'untrusted', reason: '' }, trusted: false, crashed: false, newlyUntrusted: false, reason: /untrusted/ },
  { name: 'untrusted wins over a matching mtime', header: { state: 'untrusted', reason: 'r' }, image: file(), trusted: false, crashed: false, newlyUntrusted: false, reason: /^r$/ },
  { name: 'active + strict: trusted, crashed', header: { state: 'active', durability: 'strict' }, trusted: true, crashed: true, newlyUntrusted: false },
  { name: 'active + strict after a reboot: still trusted', header: { state: 'active', durability: 'strict' }, boot: OTHER_BOOT, trusted: true, crashed: true, newlyUntrusted: false },
  { name: 'active + strict with torn pages: trusted (they were taken as changed)', header: { state: 'active', durability: 'strict' }, report: { damagedHeaderSlots: [], damagedPages: [3], damagedHistoryPages: [], missingPages: 0, lostPages: 0 }, trusted: true, crashed: true, newlyUntrusted: false },
  { name: 'active + strict ignores the image mtime', header: { state: 'active', durability: 'strict' }, image: file(1n), trusted: true, crashed: true, newlyUntrusted: false },
  { name: 'active + ordered, same boot: trusted', header: { state: 'active', durability: 'ordered' }, trusted: true, crashed: true, newlyUntrusted: false },
  { name: 'active + ordered, other boot: untrusted', header: { state: 'active', durability: 'ordered' }, boot: OTHER_BOOT, trusted: false, crashed: true, newlyUntrusted: true, reason: /restart/ },
  { name: 'active + ordered, no recorded boot id: untrusted', header: { state: 'active', durability: 'ordered', bootId: '' }, trusted: false, crashed: true, newlyUntrusted: true, reason: /restart/ },
  { name: 'active + ordered, empty current boot id: untrusted', header: { state: 'active', durability: 'ordered', bootId: '' }, boot: '', trusted: false, crashed: true, newlyUntrusted: true, reason: /restart/ },
  { name: 'clean + damaged pages: untrusted (corruption)', header: { state: 'clean' }, report: { damagedHeaderSlots: [], damagedPages: [0, 4], damagedHistoryPages: [], missingPages: 0, lostPages: 0 }, image: file(), trusted: false, crashed: false, newlyUntrusted: true, reason: /2 journal page\(s\).*corruption/ },
  { name: 'clean + image mtime differs: untrusted', header: { state: 'clean' }, image: file(MTIME + 1n), trusted: false, crashed: false, newlyUntrusted: true, reason: /mtime/ },
  { name: 'clean + mtime differs on a block device: trusted', header: { state: 'clean', imageMtimeNs: 0n }, image: blockDevice, trusted: true, crashed: false, newlyUntrusted: false },
  { name: 'clean + block device with a recorded mtime: mtime not compared', header: { state: 'clean' }, image: blockDevice, trusted: true, crashed: false, newlyUntrusted: false },
  { name: 'clean + header mtime unknown (0): trusted', header: { state: 'clean', imageMtimeNs: 0n }, image: file(12345n), trusted: true, crashed: false, newlyUntrusted: false },
  { name: 'clean + same mtime: trusted', header: { state: 'clean' }, image: file(), trusted: true, crashed: false, newlyUntrusted: false },
  { name: 'clean + no image facts: trusted', header: { state: 'clean' }, image: null, trusted: true, crashed: false, newlyUntrusted: false },
  { name: 'clean + torn header slot only: trusted', header: { state: 'clean' }, report: { damagedHeaderSlots: [1], damagedPages: [], damagedHistoryPages: [], missingPages: 0, lostPages: 0 }, image: file(), trusted: true, crashed: false, newlyUntrusted: false },
];

describe('assessJournal', () => {
  for (const c of cases) {
    test(c.name, () => {
      const v = assessJournal(header(c.header), c.report ?? cleanReport, c.boot ?? BOOT, c.image === undefined ? file() : c.image);
      assert.equal(v.trusted, c.trusted, 'trusted');
      assert.equal(v.crashed, c.crashed, 'crashed');
      assert.equal(v.newlyUntrusted, c.newlyUntrusted, 'newlyUntrusted');
      if (c.trusted) assert.equal(v.reason, '');
      else assert.match(v.reason, c.reason ?? /./);
      for (const e of v.events) assert.equal(typeof e, 'string');
    });
  }

  test('events name the torn header slot and the torn pages', () => {
    const v = assessJournal(header({ state: 'active' }), { damagedHeaderSlots: [0], damagedPages: [1, 2], damagedHistoryPages: [], missingPages: 0, lostPages: 0 }, BOOT, null);
    assert.ok(v.events.some((e) => /header slot 0/.test(e)));
    assert.ok(v.events.some((e) => /2 torn journal page/.test(e)));
  });
});

describe('assessJournal: an ordered journal left active on this boot (issue 14)', () => {
  const GEN = 'ab'.repeat(16);
  const bits = new Uint8Array(PAGE_BITMAP_BYTES);
  bits[0] = 0b1001; // clusters 0 and 3 of the page
  const record = (over: Partial<DurabilityRecord> = {}): DurabilityRecord => ({
    generation: GEN, journal: { path: '/j', device: '7:0', inode: '12' }, lostAt: Date.parse('2026-12-01T10:00:00Z'), reason: 'EIO: i/o error, fdatasync',
    errorCode: 'EIO', epoch: 1, imageSize: 1 << 30, clusterSize: 65536, complete: true, pagesAtRisk: 1, pages: [{ index: 0, bits }], ...over,
  });
  const found = (r: DurabilityRecord): RecordLookup => ({ kind: 'found', path: '/state/x.loss', record: r });
  const none: RecordLookup = { kind: 'none' };
  const active = (over: Partial<JournalHeader> = {}) => header({ state: 'active', durability: 'ordered', fsIdentity: 'unique:100', ...over });
  const judge = (h: JournalHeader, facts: OrderedFacts | null) => assessJournal(h, cleanReport, BOOT, file(), facts);

  test('a record that holds the clusters: merged, trusted, and the event says when the disk failed', () => {
    const v = judge(active(), { record: found(record()) });
    assert.equal(v.trusted, true);
    assert.equal(v.merge?.path, '/state/x.loss');
    assert.deepEqual(v.merge?.record.pages.map((p) => p.index), [0]);
    assert.ok(v.events.some((e) => /disk failed at 2026-12-01T10:00:00.000Z before changes were synced.*2 cluster\(s\) kept in \/state\/x.loss were merged/.test(e)), JSON.stringify(v.events));
  });

  test('a record wins over a changed mount identity (it was written after the failure, off the failed disk)', () => {
    const v = judge(active(), { record: found(record()), fsIdentity: 'unique:200' });
    assert.equal(v.trusted, true);
    assert.ok(v.merge);
  });

  test('a record that could not hold the clusters: untrusted, saying so', () => {
    const v = judge(active(), { record: found(record({ complete: false, pages: [], pagesAtRisk: 9000 })) });
    assert.equal(v.trusted, false);
    assert.equal(v.newlyUntrusted, true);
    assert.equal(v.merge, undefined);
    assert.match(v.reason, /disk failed at 2026-12-01T10:00:00.000Z before changes were synced.*9000 journal pages were waiting, too many to keep/);
  });

  test('a record of another geometry, or with a page past the end: damaged, untrusted', () => {
    for (const r of [record({ clusterSize: 4096 }), record({ imageSize: 1 << 20 }), record({ pages: [{ index: 99, bits }] })]) {
      const v = judge(active(), { record: found(r) });
      assert.equal(v.trusted, false);
      assert.match(v.reason, /does not fit its geometry/);
    }
  });

  test('a damaged record: untrusted, never read as holding fewer clusters', () => {
    const v = judge(active(), { record: { kind: 'damaged', path: '/state/x.loss', why: 'checksum mismatch' } });
    assert.equal(v.trusted, false);
    assert.equal(v.merge, undefined);
    assert.match(v.reason, /record of a durability loss .*\/state\/x.loss.* is damaged \(checksum mismatch\)/);
  });

  test('records that cannot be checked (a state directory others control): untrusted', () => {
    const v = judge(active(), { record: { kind: 'unusable', why: 'directory /s has mode 777' } });
    assert.equal(v.trusted, false);
    assert.match(v.reason, /cannot be checked \(directory \/s has mode 777\)/);
  });

  test('no record, another mount of the journal\'s file system: untrusted', () => {
    const v = judge(active(), { record: none, fsIdentity: 'unique:101' });
    assert.equal(v.trusted, false);
    assert.match(v.reason, /^the journal's file system was unmounted or its disk failed since the daemon stopped/);
    assert.match(v.reason, /changes not yet synced may be lost$/);
  });

  test('no record, same mount, an fdatasync now fails: untrusted', () => {
    const v = judge(active(), { record: none, fsIdentity: 'unique:100', syncError: 'EIO: i/o error, fdatasync' });
    assert.equal(v.trusted, false);
    assert.match(v.reason, /storage lost unsynced data.*fdatasync failed: EIO/);
  });

  test('no record, same mount, fdatasync succeeds: trusted (only the daemon died)', () => {
    const v = judge(active(), { record: none, fsIdentity: 'unique:100', syncError: null });
    assert.equal(v.trusted, true);
    assert.equal(v.merge, undefined);
    assert.ok(v.events.some((e) => /stayed mounted and its fdatasync succeeds/.test(e)));
  });

  test('identity unknown (recorded by an older trackfs, or none here): not compared, the fdatasync decides, and the event says so', () => {
    for (const [then, now] of [['', 'unique:5'], ['unique:5', ''], ['unique:5', 'reused:5'], ['reused:5', 'unique:5']] as const) {
      const ok = judge(active({ fsIdentity: then }), { record: none, fsIdentity: now, syncError: null });
      assert.equal(ok.trusted, true, `${then} / ${now}`);
      assert.ok(ok.events.some((e) => /cannot be identified.*would not be noticed/.test(e)));
      const bad = judge(active({ fsIdentity: then }), { record: none, fsIdentity: now, syncError: 'EIO' });
      assert.equal(bad.trusted, false);
    }
  });

  test('a reused-kind identity that differs: untrusted like a unique one', () => {
    const v = judge(active({ fsIdentity: 'reused:40' }), { record: none, fsIdentity: 'reused:41' });
    assert.equal(v.trusted, false);
  });

  test('the rules do not apply to a strict journal, a clean one, or another boot', () => {
    const badFacts: OrderedFacts = { record: { kind: 'damaged', path: '/p', why: 'x' }, fsIdentity: 'unique:1', syncError: 'EIO' };
    assert.equal(assessJournal(header({ state: 'active', durability: 'strict', fsIdentity: 'unique:9' }), cleanReport, BOOT, file(), badFacts).trusted, true);
    assert.equal(assessJournal(header({ state: 'clean', durability: 'ordered' }), cleanReport, BOOT, file(), badFacts).trusted, true);
    assert.match(assessJournal(active(), cleanReport, OTHER_BOOT, file(), badFacts).reason, /restart/);
  });
});
