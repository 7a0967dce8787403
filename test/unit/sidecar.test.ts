import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSidecar, writeSidecar, SIDECAR_FORMAT, type Sidecar } from '../../src/backup/sidecar.js';

function sample(): Sidecar {
  return {
    format: SIDECAR_FORMAT, imageSize: 4096, clusterSize: 4096, generation: '0123456789abcdef0123456789abcdef', checkpoint: 1,
    checkpointId: '0123456789ab:1', state: 'complete', source: '/x', updatedAt: '', runs: [],
  };
}

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
  assert.equal((await readSidecar(path))?.checkpointId, '0123456789ab:1');
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
