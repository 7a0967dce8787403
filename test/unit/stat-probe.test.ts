import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeImage } from '../../src/volume/stat-probe.js';

test('probeImage never lets a path be read as an option of the child', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-probe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pwned = join(dir, 'PWNED');
  for (const path of [`--eval=require("fs").writeFileSync(${JSON.stringify(pwned)},"x")`, `-e=require("fs").writeFileSync(${JSON.stringify(pwned)},"x")`, '--version']) {
    const r = await probeImage(path);
    assert.equal(existsSync(pwned), false, `probe of ${path} ran code`);
    assert.deepEqual(r, { missing: 'ENOENT' }, `probe of ${path}`);
  }
});

test('probeImage stats a real file, and says a missing one is missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-probe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const img = join(dir, 'img');
  writeFileSync(img, Buffer.alloc(8192));
  const r = await probeImage(img);
  assert.ok('facts' in r, `no facts: ${Object.keys(r).join(',')}`);
  assert.equal(r.facts.size, 8192);
  assert.equal(r.facts.isBlockDevice, false);
  assert.deepEqual(await probeImage(join(dir, 'absent')), { missing: 'ENOENT' });
  assert.deepEqual(await probeImage(`${img}\0x`), { missing: 'EINVAL' });
});
