import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountOwnFuse } from '../../src/fuse/unmount.js';

function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

test('unmountOwnFuse leaves a mount that is not ours alone (another fsname or type at the path)', { skip: (process.platform !== 'linux' || process.geteuid?.() !== 0) && 'needs Linux and root (mounts a tmpfs)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-own-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'trackfs:0123456789abcdef', dir]);
  t.after(() => {
    if (mountedAt(dir)) execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  // Same source name, but a tmpfs, not fuse.trackfs; and another id.
  assert.deepEqual(await unmountOwnFuse(dir, 'trackfs:0123456789abcdef', { lazy: true, timeoutMs: 5_000 }), { ok: true, wasMounted: false });
  assert.deepEqual(await unmountOwnFuse(dir, 'trackfs:fedcba9876543210', { lazy: true, timeoutMs: 5_000 }), { ok: true, wasMounted: false });
  assert.ok(mountedAt(dir), 'the tmpfs was unmounted');
});
