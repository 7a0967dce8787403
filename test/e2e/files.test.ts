/**
 * `changes --files` end to end: an ext4 file system is made on the volume, files are created, a
 * checkpoint is taken, some files are modified; the files named since the checkpoint are exactly
 * the modified ones, with the metadata kinds such writes touch, live and offline alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2e, TEST_TIMEOUT_MS, type ChangesJson } from './harness.js';

const MiB = 1024 * 1024;

interface FilesJson {
  filesystem: string | null; blockSize: number; live: boolean; entries: { kind: string; name: string; bytes: number }[];
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('changes --files names exactly the files modified since a checkpoint, and the metadata kinds', { timeout: TEST_TIMEOUT_MS * 2 }, async (t) => {
  for (const tool of ['mkfs.ext4', 'debugfs', 'dumpe2fs']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      t.skip(`needs ${tool} (e2fsprogs)`);
      return;
    }
  }
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(64 * MiB);
  // 4K clusters and 4K blocks: a changed cluster is one block, so no neighbour is listed with it.
  await h.mount({ clusterSize: '4K', extra: ['--mark-ahead', '0'] });
  sh('mkfs.ext4', ['-q', '-b', '4096', h.volume]);
  const fsDir = join(h.dir, 'fs');
  mkdirSync(fsDir);
  let mounted = false;
  const mountFs = () => { sh('mount', ['-o', 'loop', h.volume, fsDir]); mounted = true; };
  const unmountFs = () => { sh('umount', [fsDir]); mounted = false; };
  h.beforeUnmount(() => { if (mounted) spawnSync('umount', ['-l', fsDir]); });

  mountFs();
  mkdirSync(join(fsDir, 'docs'));
  const names = ['a.bin', 'b.bin', 'docs/c.txt', 'docs/d.txt', 'e.bin'];
  for (const n of names) writeFileSync(join(fsDir, n), randomBytes(50_000));
  unmountFs();
  const since = (await h.trackfsOk(['checkpoint', h.mnt])).stdout.trim();

  mountFs();
  // Rewrite in place (same blocks), and append (new blocks): both are changes to the file.
  const rewrite = spawnSync('dd', ['if=/dev/urandom', `of=${join(fsDir, 'b.bin')}`, 'bs=4096', 'seek=2', 'count=1', 'conv=notrunc,fsync'], { stdio: 'ignore' });
  assert.equal(rewrite.status, 0);
  appendFileSync(join(fsDir, 'docs/d.txt'), randomBytes(30_000));
  unmountFs();

  const check = (r: { stdout: string }, live: boolean) => {
    const j = JSON.parse(r.stdout) as ChangesJson & { files: FilesJson };
    assert.equal(j.files.filesystem, 'ext4');
    assert.equal(j.files.blockSize, 4096);
    assert.equal(j.files.live, live);
    const files = j.files.entries.filter((e) => e.kind === 'file').map((e) => e.name).sort();
    assert.deepEqual(files, ['/b.bin', '/docs/d.txt'], 'exactly the modified files');
    const bytesOf = (name: string) => j.files.entries.find((e) => e.name === name)!.bytes;
    assert.equal(bytesOf('/b.bin'), 4096, 'one block of b.bin was rewritten');
    assert.ok(bytesOf('/docs/d.txt') >= 28 * 1024, 'the appended bytes of d.txt');
    const kinds = new Set(j.files.entries.filter((e) => e.kind === 'metadata').map((e) => e.name));
    for (const k of ['inode table', 'ext4 journal']) assert.ok(kinds.has(k), `metadata kind '${k}' in ${[...kinds].join(', ')}`);
    // Every changed byte is accounted for: the entries' blocks cover the changed clusters.
    const named = j.files.entries.reduce((n, e) => n + e.bytes, 0);
    assert.equal(named, j.changedBytes);
  };
  check(await h.trackfsOk(['changes', h.mnt, '--since', since, '--files', '--json'], { timeoutMs: 60_000 }), true);
  await h.unmount();
  check(await h.trackfsOk(['changes', h.journal, '--since', since, '--files', '--json'], { timeoutMs: 60_000 }), false);

});
