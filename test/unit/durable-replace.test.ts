/** replaceDurably: the new content or the old, the mode asked for whatever the umask, nothing left behind on failure. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceDurably } from '../../src/util/durable-replace.js';

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-replace-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('replaceDurably', () => {
  test('creates, then replaces; the mode is the one asked for under any umask', async () => {
    await inTempDir(async (dir) => {
      const path = join(dir, 'f');
      const old = process.umask(0o077);
      try {
        await replaceDurably(path, 'one', { mode: 0o755, tmpPrefix: '.f' });
      } finally {
        process.umask(old);
      }
      assert.equal(await readFile(path, 'utf8'), 'one');
      assert.equal((await stat(path)).mode & 0o777, 0o755);
      await writeFile(join(dir, 'other'), 'x');
      await replaceDurably(path, Buffer.from('two'), { mode: 0o600, tmpPrefix: '.f' });
      assert.equal(await readFile(path, 'utf8'), 'two');
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual((await readdir(dir)).sort(), ['f', 'other'], 'no temporary file is left');
    });
  });

  test('a failed rename leaves the target as it was and no temporary file', async () => {
    await inTempDir(async (dir) => {
      const path = join(dir, 'target');
      await mkdir(path);
      await writeFile(join(path, 'inside'), 'kept');
      await assert.rejects(replaceDurably(path, 'new', { mode: 0o600, tmpPrefix: '.target' }), /EISDIR|ENOTEMPTY|EEXIST/);
      assert.deepEqual(await readdir(dir), ['target']);
      assert.equal(await readFile(join(path, 'inside'), 'utf8'), 'kept');
    });
  });
});
