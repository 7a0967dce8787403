/** Which mount of which file system a journal file is on (src/journal/fs-identity.ts). */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareFsIdentity, fsIdentityOf } from '../../src/journal/fs-identity.js';

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'trackfs-fsid-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('fs identity', () => {
  test('compare: only two known identities of one kind can differ', () => {
    assert.equal(compareFsIdentity('unique:1', 'unique:1'), 'same');
    assert.equal(compareFsIdentity('unique:1', 'unique:2'), 'different');
    assert.equal(compareFsIdentity('reused:1', 'reused:2'), 'different');
    assert.equal(compareFsIdentity('unique:1', 'reused:2'), 'unknown');
    assert.equal(compareFsIdentity('', 'unique:2'), 'unknown');
    assert.equal(compareFsIdentity('unique:1', ''), 'unknown');
  });

  const linuxOnly = { skip: process.platform !== 'linux' && 'Linux only' };
  test('of an open file: a mount id, the same for two files of one file system, another for another mount', linuxOnly, async () => {
    const a = await open(join(root, 'a'), 'w');
    const b = await open(join(root, 'b'), 'w');
    const proc = await open('/proc/self/stat', 'r');
    try {
      const ia = await fsIdentityOf(a.fd);
      assert.match(ia, /^(unique|reused):\d+$/);
      assert.equal(await fsIdentityOf(b.fd), ia);
      const ip = await fsIdentityOf(proc.fd);
      assert.equal(compareFsIdentity(ia, ip), 'different', `${ia} (temp dir) and ${ip} (/proc) are different mounts`);
    } finally {
      await a.close();
      await b.close();
      await proc.close();
    }
  });
});
