/**
 * End to end: unmounting around open descriptors. A plain unmount refuses while the volume is
 * open and succeeds as soon as the last writer has closed it (FUSE delivers RELEASE
 * asynchronously, after close() has returned: an unmount right behind a finished dd must not be
 * refused); a lazy unmount detaches at once, closes the journal clean, and the old descriptor
 * gets errors, never a write into the image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { clustersOfExtents, e2e, readRange, TEST_TIMEOUT_MS, waitFor, withTimeout } from './harness.js';
import { seededBytes } from './prng.js';
import type { ControlReply, ShutdownSummary } from '../../src/control/protocol.js';

const MiB = 1024 * 1024;
const CS = 64 * 1024;

test('unmount right after the last writer closed the volume succeeds (no stale descriptor count)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(8 * MiB);
  // The race is between the kernel's asynchronous RELEASE and the unmount request. A child writes,
  // closes, and at once asks the control socket to unmount (no process exit or CLI start-up in
  // between); several rounds.
  const script = `
    const fs = require('node:fs');
    const net = require('node:net');
    const [volume, socket, offset] = process.argv.slice(1);
    const fd = fs.openSync(volume, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Number(offset));
    fs.closeSync(fd);
    const sock = net.createConnection(socket, () => sock.write(JSON.stringify({ op: 'unmount', lazy: false }) + '\\n'));
    let reply = '';
    sock.setEncoding('utf8').on('data', (d) => { reply += d; }).on('end', () => { process.stdout.write(reply); });`;
  for (let i = 0; i < 8; i++) {
    const pid = await h.mount();
    const child = h.spawnChild(['-e', script, h.volume, h.socket, String(i * CS)]);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    await withTimeout(new Promise((resolve) => child.once('close', resolve)), 30_000, 'the write-close-unmount child');
    const reply = JSON.parse(out) as ControlReply<ShutdownSummary>;
    assert.equal(reply.ok, true, `round ${i}: unmount right after close was refused: ${reply.ok ? '' : reply.error.message}`);
    await h.waitDaemonGone(pid);
    assert.equal(h.mounted(), false);
  }
  const s = await h.status(h.journal);
  assert.equal(s.journalState, 'clean');
  assert.deepEqual([...clustersOfExtents((await h.changes(h.journal)).extents, CS)], [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('unmount refuses while the volume is open; --lazy detaches, closes the journal clean, and the old descriptor fails', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(8 * MiB, [{ offset: 0, data: seededBytes(1, 8 * MiB) }]);
  const pid = await h.mount();

  // A child holds the volume open and, on "go", writes to cluster 5 and reads.
  const script = `
    const fs = require('node:fs');
    const fd = fs.openSync(process.argv[1], 'r+');
    console.log('open');
    process.stdin.once('data', () => {
      for (const [name, fn] of [['write', () => fs.writeSync(fd, Buffer.alloc(4096, 0xab), 0, 4096, 5 * ${CS})], ['read', () => fs.readSync(fd, Buffer.alloc(10), 0, 10, 0)]]) {
        try { fn(); console.log(name + ' ok'); } catch (e) { console.log(name + ' ' + e.code); }
      }
      process.exit(0);
    });`;
  const child = h.spawnChild(['-e', script, h.volume]);
  child.stdin?.on('error', () => {});
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor('the child to open the volume', () => lines.includes('open'), 10_000);

  const busy = await h.trackfs(['unmount', h.mnt]);
  assert.equal(busy.code, 1, 'unmount must refuse while the volume is open');
  assert.match(busy.stderr, /volume is (open|busy)/);
  assert.equal(h.mounted(), true);
  assert.equal((await h.status()).state, 'active', 'a refused unmount leaves the mount serving');

  await h.trackfsOk(['unmount', '--lazy', h.mnt]);
  assert.equal(h.mounted(), false);
  await h.waitDaemonGone(pid);
  const s = await h.status(h.journal);
  assert.equal(s.journalState, 'clean');

  child.stdin!.end('go\n');
  await withTimeout(exited, 15_000, 'the child to finish on the detached mount');
  assert.equal(lines.includes('write ok'), false, `a write after the daemon is gone cannot succeed: ${lines.join(', ')}`);
  assert.ok((await readRange(h.image, 5 * CS, 4096)).equals(seededBytes(1, 8 * MiB).subarray(5 * CS, 5 * CS + 4096)), 'the image is untouched');
  assert.deepEqual((await h.changes(h.journal)).extents, []);
});
