/**
 * `changes --format qemu-map`: the JSON that `qemu-img map --output=json` prints, so scripts
 * written for QEMU parse it unchanged. The ranges cover the whole image, in order, one object per
 * line. A changed range is what a qcow2 overlay made at the checkpoint would hold: allocated
 * (`"depth": 0, "present": true, "data": true`, `"offset"` its place in the raw image). An
 * unchanged one is not in that overlay (`"present": false, "data": false`), and `"zero"` is
 * always false: trackfs does not know what an unchanged range holds, only that it did not change.
 * (qemu-img map over an NBD export with x-dirty-bitmap reports dirty ranges inverted, as
 * "data": false; this format does not copy that quirk.)
 */
import type { Extent } from '../journal/changes.js';
import type { ExtentBatches, Sink } from './stream.js';

export function qemuMapEntry(start: number, length: number, changed: boolean): string {
  return `{ "start": ${start}, "length": ${length}, "depth": 0, "present": ${changed}, "zero": false, "data": ${changed}, `
    + `"compressed": false${changed ? `, "offset": ${start}` : ''}}`;
}

/** Writes the map of `batches` (sorted, merged extents) over an image of `imageSize` bytes. */
export async function writeQemuMap(batches: ExtentBatches, imageSize: number, write: Sink): Promise<void> {
  let at = 0;
  let first = true;
  const lines: string[] = [];
  const flush = async () => {
    if (lines.length === 0) return;
    await write(`${first ? '[' : ',\n'}${lines.join(',\n')}`);
    first = false;
    lines.length = 0;
  };
  const add = (e: Extent, changed: boolean) => { if (e.length > 0) lines.push(qemuMapEntry(e.offset, e.length, changed)); };
  for await (const batch of batches) {
    for (const e of batch) {
      add({ offset: at, length: e.offset - at }, false);
      add(e, true);
      at = e.offset + e.length;
    }
    await flush();
  }
  add({ offset: at, length: imageSize - at }, false);
  await flush();
  await write(first ? '[]\n' : ']\n');
}
