/**
 * The backup sidecar (src/backup/sidecar.ts): what is written is read back; anything that is not
 * a whole, well-formed sidecar is refused with EINVAL (a backup never picks its base from a
 * guess); the last 20 runs are kept; a write replaces the file whole and leaves no temp file, even
 * when it fails.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSidecar, sidecarPathFor, writeSidecar, SIDECAR_FORMAT, type BackupRun, type Sidecar } from '../../src/backup/sidecar.js';
import { ErrnoError } from '../../src/util/errno.js';

const GEN = '0123456789abcdef0123456789abcdef';

function sample(over: Partial<Sidecar> = {}): Sidecar {
  return {
    format: SIDECAR_FORMAT, imageSize: 1 << 30, clusterSize: 65536, generation: GEN, checkpoint: 3, checkpointId: '0123456789ab:3',
    state: 'complete', source: '/mnt/disk', updatedAt: '', runs: [], ...over,
  };
}

function run(i: number): BackupRun {
  return {
    at: new Date(1_700_000_000_000 + i * 1000).toISOString(), base: i ? `0123456789ab:${i - 1}` : null, to: `0123456789ab:${i}`,
    copiedBytes: i, imageSize: 1 << 30, full: i === 0, seconds: 1,
  };
}

let root = '';
let n = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'trackfs-sidecar-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh directory of its own for each test, and the sidecar path in it. */
function place(): { dir: string; path: string } {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  return { dir, path: sidecarPathFor(join(dir, 'backup.img')) };
}

/** readSidecar rejects with EINVAL, with a message naming the file and the way out. */
async function refused(path: string, what: RegExp, why: string): Promise<void> {
  await assert.rejects(readSidecar(path), (e: unknown) => {
    assert.ok(e instanceof ErrnoError, `${why}: ${String(e)}`);
    assert.equal(e.code, 'EINVAL', `${why}: ${e.message}`);
    assert.match(e.message, what, why);
    assert.ok(e.message.includes(path), `${why}: the message names the file: ${e.message}`);
    assert.match(e.message, /--full/, `${why}: the message says what to do`);
    return true;
  });
}

describe('backup sidecar', () => {
  test('the path: beside the target', () => {
    assert.equal(sidecarPathFor('/backup/disk.img'), '/backup/disk.img.trackfs-backup');
  });

  test('round trip: what is written is read back, with the time of the write', async () => {
    const { path } = place();
    const running = { startedAt: '2024-01-01T00:00:00.000Z', base: '0123456789ab:3', to: null, full: false };
    const s = sample({ state: 'in-progress', running, runs: [run(0), run(1)] });
    const before = Date.now();
    await writeSidecar(path, s);
    const back = await readSidecar(path);
    assert.ok(back);
    assert.ok(Date.parse(back.updatedAt) >= before - 1000, `updatedAt ${back.updatedAt}`);
    assert.deepEqual(back, { ...s, updatedAt: back.updatedAt });
    assert.equal(readFileSync(path, 'utf8').endsWith('}\n'), true, 'one JSON document and a newline');
  });

  test('no sidecar: null', async () => {
    const { path } = place();
    assert.equal(await readSidecar(path), null);
  });

  test('a sidecar written without runs (by hand, or an older trackfs) reads with none', async () => {
    const { path } = place();
    const { runs: _runs, ...withoutRuns } = sample();
    writeFileSync(path, JSON.stringify(withoutRuns));
    assert.deepEqual((await readSidecar(path))?.runs, []);
  });

  test('not JSON: refused', async () => {
    const { path } = place();
    for (const text of ['', '{', 'format: trackfs-backup/1', '{"format":"trackfs-backup/1",}']) {
      writeFileSync(path, text);
      await refused(path, /not valid JSON/, JSON.stringify(text));
    }
  });

  test('JSON of another kind: refused', async () => {
    const { path } = place();
    const otherFormat = sample({ format: 'trackfs-backup/2' as typeof SIDECAR_FORMAT });
    const others = [null, 42, 'trackfs-backup/1', [sample()], {}, otherFormat, { ...sample(), format: undefined }];
    for (const value of others) {
      writeFileSync(path, JSON.stringify(value));
      await refused(path, /not a trackfs backup sidecar/, JSON.stringify(value).slice(0, 60));
    }
  });

  test('a field the backup relies on missing or of the wrong kind: refused, never read as a base', async () => {
    const { path } = place();
    const broken: [string, Record<string, unknown>][] = [
      ['no generation', { generation: undefined }],
      ['generation not a string', { generation: 7 }],
      ['no checkpoint', { checkpoint: undefined }],
      ['checkpoint not an integer', { checkpoint: 1.5 }],
      ['checkpoint negative', { checkpoint: -1 }],
      ['no checkpointId', { checkpointId: undefined }],
      ['checkpointId not an id', { checkpointId: 'latest' }],
      ['no imageSize', { imageSize: undefined }],
      ['imageSize a string', { imageSize: '1073741824' }],
      ['no state', { state: undefined }],
      ['state of another kind', { state: 'done' }],
      ['runs not a list', { runs: 'none' }],
      ['in progress, running base not an id', { state: 'in-progress', running: { startedAt: '', base: 5, to: null, full: false } }],
    ];
    for (const [why, change] of broken) {
      writeFileSync(path, JSON.stringify({ ...sample(), ...change }));
      await refused(path, /sidecar/, why);
    }
  });

  test('the last 20 runs are kept, newest last', async () => {
    const { path } = place();
    const runs = Array.from({ length: 25 }, (_, i) => run(i));
    await writeSidecar(path, sample({ runs }));
    const back = await readSidecar(path);
    assert.deepEqual(back?.runs, runs.slice(5));
    await writeSidecar(path, sample({ runs: runs.slice(0, 3) }));
    assert.deepEqual((await readSidecar(path))?.runs, runs.slice(0, 3), 'fewer than 20 are all kept');
  });

  test('a write replaces the sidecar whole and leaves nothing else in the directory', async () => {
    const { dir, path } = place();
    await writeSidecar(path, sample({ checkpoint: 1, checkpointId: '0123456789ab:3', runs: Array.from({ length: 20 }, (_, i) => run(i)) }));
    await writeSidecar(path, sample({ checkpoint: 2, checkpointId: '0123456789ab:2' }));
    assert.deepEqual(readdirSync(dir), ['backup.img.trackfs-backup']);
    const back = await readSidecar(path);
    assert.deepEqual([back?.checkpoint, back?.runs.length], [2, 0], 'nothing of the longer old file is left');
  });

  test('a write that fails half-way leaves the old sidecar as it was, and no temp file', async () => {
    const { dir, path } = place();
    await writeSidecar(path, sample());
    const old = readFileSync(path, 'utf8');
    // A value JSON cannot hold fails the write after the temp file was made.
    const bad = { ...sample({ checkpoint: 4 }), source: 5n } as unknown as Sidecar;
    await assert.rejects(writeSidecar(path, bad), /BigInt/);
    assert.equal(readFileSync(path, 'utf8'), old);
    assert.deepEqual(readdirSync(dir), ['backup.img.trackfs-backup']);
  });
});

// ---------------------------------------------------------- where it is written ----

test('writeSidecar never writes through a symlink planted under the name a temp file would get', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-sidecar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'keep');
  const path = join(dir, 'b.img.trackfs-backup');
  // What another user of a shared directory could plant: the old, predictable temp name.
  const planted = join(dir, `.b.img.trackfs-backup.${process.pid}.tmp`);
  symlinkSync(victim, planted);

  await writeSidecar(path, sample());

  assert.equal(readFileSync(victim, 'utf8'), 'keep', 'the victim was written through the planted symlink');
  assert.ok(lstatSync(path).isFile(), 'the sidecar is not a regular file');
  assert.equal((await readSidecar(path))?.checkpointId, '0123456789ab:3');
  assert.equal(statSync(path).mode & 0o777, 0o600, 'sidecar mode');
  assert.deepEqual(readdirSync(dir).sort(), ['.b.img.trackfs-backup.' + process.pid + '.tmp', 'b.img.trackfs-backup', 'victim'].sort(), 'files left in the directory');
});

test('writeSidecar makes a 0600 file whatever the umask', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-sidecar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = process.umask(0);
  t.after(() => process.umask(old));
  const path = join(dir, 's');
  await writeSidecar(path, sample());
  assert.equal(statSync(path).mode & 0o777, 0o600);
});
