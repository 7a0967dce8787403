/**
 * End to end: every dismount request flushes the journal, closes it clean and lets go of its
 * handles — signals, an external umount/fusermount -u, a lazy external umount with a descriptor
 * still open — and eject/resume (query-remove / cancel-remove) keeps the mount but refuses I/O
 * in between, then tracks on in the same generation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { clustersOfExtents, e2e, readRange, TEST_TIMEOUT_MS, waitFor, withTimeout } from './harness.js';
import { seededBytes } from './prng.js';
import type { ResumeReply } from '../../src/control/protocol.js';

const MiB = 1024 * 1024;
const CS = 64 * 1024;

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} to the daemon: journal closed clean, mount gone, daemon gone`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    await h.createImage(8 * MiB);
    const pid = await h.mount();
    await h.ddWriteOk(3 * CS, seededBytes(3, 4096));
    process.kill(pid, signal);
    await h.waitDaemonGone(pid);
    await waitFor('the mount to leave the mount table', () => !h.mounted(), 5_000);
    const s = await h.status(h.journal);
    assert.equal(s.journalState, 'clean');
    assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [3]);
  });
}

for (const tool of [['fusermount', '-u'], ['umount']] as const) {
  test(`external ${tool.join(' ')} of the trackfs mount: noticed, journal closed clean, daemon exits`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const h = await e2e(t);
    if (!h) return;
    await h.createImage(8 * MiB);
    const pid = await h.mount();
    await h.ddWriteOk(5 * CS, seededBytes(5, 4096));
    execFileSync(tool[0], [...tool.slice(1), h.mnt]);
    await h.waitDaemonGone(pid);
    const s = await h.status(h.journal);
    assert.equal(s.journalState, 'clean');
    assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [5]);
  });
}

test('external umount -l with a descriptor open: its later I/O gets EIO, the daemon exits when it closes', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(8 * MiB);
  const original = await readRange(h.image, 9 * CS, 4096);
  const pid = await h.mount();
  // A child holds the volume open; on each line of stdin it writes at cluster 9 and reports.
  const script = `
    const fs = require('node:fs');
    const fd = fs.openSync(process.argv[1], 'r+');
    console.log('open');
    require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
      if (l === 'close') { fs.closeSync(fd); console.log('closed'); return; }
      try { fs.writeSync(fd, Buffer.alloc(4096, 0x77), 0, 4096, 9 * 65536); console.log('ok'); }
      catch (e) { console.log('error ' + e.code); }
    });`;
  const child = h.spawnChild(['-e', script, h.volume]);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  await waitFor('the child to open the volume', () => lines.includes('open'), 10_000);

  execFileSync('umount', ['-l', h.mnt]);
  assert.equal(h.mounted(), false);
  await waitFor('the daemon to close the journal', async () => (await h.status(h.journal)).journalState === 'clean', 5_000);
  child.stdin!.write('write\n');
  await waitFor('the write to be answered', () => lines.length >= 2, 5_000);
  assert.equal(lines[1], 'error EIO', 'a write after the detach must fail cleanly');
  assert.equal(execFileSync('ps', ['-o', 'stat=', '-p', String(pid)]).toString().trim().startsWith('Z'), false, 'daemon stays while a descriptor is open');

  child.stdin!.write('close\n');
  await h.waitDaemonGone(pid);
  assert.deepEqual(await readRange(h.image, 9 * CS, 4096), original, 'the refused write must not reach the image');
  assert.deepEqual((await h.changes(h.journal)).extents, []);
});

test('eject refuses I/O and lets go of the journal; resume tracks on in the same generation', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(8 * MiB);
  await h.mount();
  await h.ddWriteOk(1 * CS, seededBytes(1, 4096));
  const before = await h.changes();

  const ej = await h.trackfsOk(['eject', h.mnt, '--json']);
  assert.deepEqual(JSON.parse(ej.stdout), { state: 'ejected', journalClean: true });
  const s = await h.status();
  assert.equal(s.state, 'ejected');
  assert.equal(s.backing, 'released');
  // The journal on disk is closed clean: another reader sees it as such.
  assert.equal((await h.status(h.journal)).journalState, 'clean');
  // No handle of the daemon on the image or the journal.
  const fds = execFileSync('ls', ['-l', `/proc/${s.pid}/fd`]).toString();
  assert.equal(fds.includes(h.image), false, `daemon still holds the image: ${fds}`);

  const started = Date.now();
  const w = await h.io([`write:${2 * CS}:4096:2`]);
  const r = await h.io(['read:0:4096']);
  const f = await h.io(['fsync']);
  t.diagnostic(`write, read and fsync refused after eject in ${Date.now() - started} ms (three child processes)`);
  assert.deepEqual([w.failedStep, w.errno], [`write:${2 * CS}:4096:2`, 'EIO'], 'a write while ejected');
  assert.deepEqual([r.failedStep, r.errno], ['read:0:4096', 'EIO'], 'a read while ejected');
  assert.deepEqual([f.failedStep, f.errno], ['fsync', 'EIO'], 'an fsync while ejected');

  const re = await h.trackfsOk(['resume', h.mnt, '--json']);
  assert.deepEqual(JSON.parse(re.stdout), { state: 'active', trusted: true });
  await h.ddWriteOk(2 * CS, seededBytes(2, 4096));
  const after = await h.changes();
  assert.equal(after.generation, before.generation);
  assert.deepEqual([...clustersOfExtents(after.extents, CS)], [1, 2]);
  await h.unmount();
});

test('resume after the image was modified while ejected: the journal becomes untrusted', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(8 * MiB);
  await h.mount();
  await h.ddWriteOk(0, seededBytes(4, 4096));
  await h.trackfsOk(['eject', h.mnt]);
  utimesSync(h.image, new Date(), new Date(Date.now() + 5000));
  const re = await withTimeout(h.trackfsOk(['resume', h.mnt, '--json']), 20_000, 'resume');
  const out = JSON.parse(re.stdout) as ResumeReply;
  assert.equal(out.trusted, false);
  assert.match(out.reason ?? '', /modified/);
  const c = await h.changes();
  assert.equal(c.trusted, false);
  assert.deepEqual(c.extents, [{ offset: 0, length: 8 * MiB }]);
});
