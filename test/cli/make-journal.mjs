#!/usr/bin/env node
// Crafts a valid trackfs journal whose header says what a test wants, as an attacker or a damaged
// disk would leave it. Uses the project's own encoder (dist/, so build first).
//
//   make-journal.mjs JOURNAL IMAGE_SIZE IMAGE_PATH [--untrusted REASON] [--active-pid PID]
//
// IMAGE_PATH is written into the header verbatim (it may be relative, or look like an option).
// --untrusted marks the journal untrusted with REASON (any bytes, escapes included).
// --active-pid leaves it active, as a live daemon with that pid on this boot would.
import { FileJournalIo } from '../../dist/src/journal/journal-io.js';
import { Journal } from '../../dist/src/journal/journal.js';
import { currentBootId } from '../../dist/src/util/boot-id.js';

const [path, sizeText, imagePath, ...rest] = process.argv.slice(2);
if (!path || !sizeText || imagePath === undefined) {
  process.stderr.write('usage: make-journal.mjs JOURNAL IMAGE_SIZE IMAGE_PATH [--untrusted REASON] [--active-pid PID]\n');
  process.exit(2);
}
const opt = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};

const io = await FileJournalIo.open(path, { create: true });
const journal = await Journal.create(io, { imageSize: Number(sizeText), clusterSize: 65536, imagePath });
const reason = opt('--untrusted');
if (reason !== undefined) await journal.markUntrusted(reason);
const pid = opt('--active-pid');
if (pid !== undefined) await journal.activate({ durability: 'strict', bootId: await currentBootId(), pid: Number(pid), imagePath });
await journal.abandon();
