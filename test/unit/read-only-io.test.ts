import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournalIo, ReadOnlyOverlayIo } from '../../src/journal/journal-io.js';

test('ReadOnlyOverlayIo: writes are read back, newest first where they overlap, and never reach the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-roio-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'j');
  writeFileSync(path, Buffer.alloc(16, 0x61)); // 16 x 'a'
  const io = new ReadOnlyOverlayIo(await FileJournalIo.open(path, { create: false, readOnly: true }));
  await io.write(Buffer.from('BBBB'), 2);
  await io.write(Buffer.from('CCCCCCCC'), 0);
  await io.write(Buffer.from('DD'), 4);
  await io.write(Buffer.from('EE'), 20); // past the end of the file
  await io.datasync();
  const buf = Buffer.alloc(24);
  assert.equal(await io.read(buf, 0), 22);
  assert.equal(buf.subarray(0, 22).toString('latin1'), 'CCCCDDCCaaaaaaaa\0\0\0\0EE');
  const part = Buffer.alloc(4);
  assert.equal(await io.read(part, 3), 4);
  assert.equal(part.toString('latin1'), 'CDDC');
  assert.equal(await io.size(), 22);
  // A size restored by a header write (format 3) is only remembered: the file keeps its own.
  await io.truncate(64);
  assert.equal(await io.size(), 64);
  await io.close();
  assert.equal(readFileSync(path, 'latin1'), 'a'.repeat(16), 'the file was written');
});
