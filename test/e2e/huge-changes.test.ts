/**
 * A change list too large for one reply: 16 M extents (every other 4 KiB cluster of a 128 GiB
 * sparse image) is about 640 MB of JSON, past what one JavaScript string can hold. `changes` on the
 * mount and on the journal file must list every extent, in one valid JSON object, and the daemon
 * must keep serving. (Before extents were streamed, the daemon died building the reply and left
 * its journal active.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { BIN, e2e, type Harness } from './harness.js';
import { FileJournalIo } from '../../src/journal/journal-io.js';
import { Journal } from '../../src/journal/journal.js';

const GiB = 1024 ** 3;
const CS = 4096;
const SIZE = 128 * GiB;
const EXTENTS = SIZE / CS / 2;
const MARKER = '{"offset":';

/** A clean journal for the harness's image with every other cluster marked, made offline. */
async function craftJournal(h: Harness): Promise<void> {
  const io = await FileJournalIo.open(h.journal, { create: true });
  const journal = await Journal.create(io, { imageSize: SIZE, clusterSize: CS, imagePath: h.image });
  for (let c = 0; c < SIZE / CS; c += 2) void journal.record(c, c);
  await journal.sync();
  await journal.close({ imageMtimeNs: (await stat(h.image, { bigint: true })).mtimeNs });
}

/**
 * Runs `trackfs changes TARGET --json` and reads its output as it streams: the summary's fields
 * from the first bytes, the number of extents, the end of the object. Never holds the whole text.
 */
function streamedChanges(
  h: Harness,
  target: string,
): Promise<{ code: number | null; head: string; extents: number; tail: string; bytes: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'changes', target, '--json'], { env: h.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let head = '';
    let tail = '';
    let carry = '';
    let extents = 0;
    let bytes = 0;
    let stderr = '';
    child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
      bytes += chunk.length;
      if (head.length < 1000) head += chunk.slice(0, 1000 - head.length);
      // The carried bytes are one shorter than the marker: a marker split across two chunks is
      // found once, and none is found twice.
      const text = carry + chunk;
      extents += text.split(MARKER).length - 1;
      carry = text.slice(-(MARKER.length - 1));
      tail = (tail + chunk).slice(-200);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, head, extents, tail, bytes, stderr }));
  });
}

test('changes with 16 M extents (640 MB of JSON): live and offline, every extent, one JSON object, the daemon serves on', { timeout: 600_000 }, async (t) => {
  const h = await e2e(t);
  if (!h) return;
  await h.createImage(SIZE);
  await craftJournal(h);

  const offline = await streamedChanges(h, h.journal);
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.extents, EXTENTS);
  assert.match(offline.head, /^\{"imageSize":137438953472,"clusterSize":4096,.*"trusted":true/);
  assert.match(offline.tail, /\{"offset":137438945280,"length":4096\}\]\}\n$/);

  const pid = await h.mount();
  const live = await streamedChanges(h, h.mnt);
  assert.equal(live.code, 0, live.stderr);
  assert.equal(live.extents, EXTENTS);
  assert.equal(live.bytes, offline.bytes, 'live and offline print the same list');
  assert.match(live.tail, /\]\}\n$/);
  const s = await h.status();
  assert.equal(s.pid, pid, 'the daemon that listed the changes is still the one serving');
  assert.equal(s.state, 'active');
  assert.equal(s.changedClusters, EXTENTS);
  await h.unmount();
  assert.equal((await h.status(h.journal)).journalState, 'clean');
  t.diagnostic(`${EXTENTS} extents, ${(live.bytes / 1e6).toFixed(0)} MB of JSON, live and offline`);
});
