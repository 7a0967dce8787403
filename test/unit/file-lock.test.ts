import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockDescriptor } from '../../src/util/file-lock.js';

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
