import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockDescriptor, retireDescriptor } from '../../src/util/file-lock.js';
import { native } from '../../src/native/native.js';

const LOCK_MODULE = fileURLToPath(new URL('../../src/util/file-lock.js', import.meta.url));

/** Runs the lock sequence of the test below in a child with TRACKFS_NATIVE set as given. */
const SEQUENCE = `
import { openSync, closeSync } from 'node:fs';
import { lockDescriptor } from ${JSON.stringify(LOCK_MODULE)};
const path = process.argv[1];
const a = openSync(path, 'r+'), b = openSync(path, 'r+');
const out = [];
out.push(await lockDescriptor(a, true));   // locked
out.push(await lockDescriptor(b, true));   // busy: another open file description
out.push(await lockDescriptor(b, false));  // busy: shared against exclusive
closeSync(a);                              // the lock goes with the descriptor
out.push(await lockDescriptor(b, false));  // locked (shared)
const c = openSync(path, 'r');
out.push(await lockDescriptor(c, false));  // locked: shared with shared
out.push(await lockDescriptor(openSync(path, 'r'), true)); // busy
process.stdout.write(JSON.stringify(out));
`;

for (const [label, nativeEnv] of [['native addon', '1'], ['flock(1) fallback', '0']] as const) {
  test(`lockDescriptor (${label}): exclusive and shared flock locks that go with the descriptor`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'trackfs-lock-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'f');
    writeFileSync(path, 'x');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', SEQUENCE, path], { env: { ...process.env, TRACKFS_NATIVE: nativeEnv }, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), ['locked', 'busy', 'busy', 'locked', 'locked', 'busy']);
  });
}

test('a lock taken in this process is seen by flock(1) as held', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  const fd = openSync(path, 'r+');
  assert.equal(await lockDescriptor(fd, true), 'locked');
  assert.throws(() => execFileSync('flock', ['-n', '-x', path, 'true']), 'flock(1) got the lock');
  closeSync(fd);
  execFileSync('flock', ['-n', '-x', path, 'true']);
});

test('retireDescriptor: the number stays taken, I/O on it fails, the file is closed and its lock given up', { skip: native() === null || process.platform !== 'linux' ? 'needs the addon, on Linux' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-retire-'));
  try {
    const path = join(dir, 'image');
    writeFileSync(path, 'data');
    const fd = openSync(path, 'r+');
    assert.equal(native()!.lockFile(fd, true), 0);
    assert.equal(retireDescriptor(fd), true);
    // The number still names something (not free for another open to take)...
    assert.doesNotThrow(() => fstatSync(fd));
    // ...but not the image: reads and writes fail instead of reaching it.
    assert.throws(() => readSync(fd, Buffer.alloc(4), 0, 4, 0), { code: 'EBADF' });
    assert.throws(() => writeSync(fd, 'x', 0), { code: 'EBADF' });
    // The image's open file description is gone with it, and its lock (another one can take it).
    const other = openSync(path, 'r+');
    assert.equal(native()!.lockFile(other, true), 0);
    closeSync(other);
    closeSync(fd);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
