import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Journal } from '../../src/journal/journal.js';
import { ChangeTracker, MARK_AHEAD_AFTER } from '../../src/tracker/tracker.js';
import { MemoryIo } from './helpers/memory-io.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CS = 64 * KiB;
const IMAGE_SIZE = 96 * MiB + 5 * KiB; // the last cluster is partial

async function newJournal(): Promise<Journal> {
  const j = await Journal.create(new MemoryIo(), { imageSize: IMAGE_SIZE, clusterSize: CS, imagePath: '/images/t.img', now: 1_700_000_000_000 });
  await j.activate({ durability: 'strict', bootId: 'boot-1', pid: 1, imagePath: '/images/t.img' });
  return j;
}

function recorded(j: Journal): Set<number> {
  const s = new Set<number>();
  for (const r of j.cache.recorded.runs()) for (let c = r.start; c < r.start + r.count; c++) s.add(c);
  return s;
}

function clustersOf(offset: number, length: number): number[] {
  const out: number[] = [];
  for (let c = Math.floor(offset / CS); c <= Math.floor((offset + length - 1) / CS); c++) out.push(c);
  return out;
}

interface W { offset: number; length: number }

/** Sequential runs of 128 KiB requests (as the kernel sends them) mixed with scattered writes. */
const writesArb = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('run' as const), start: fc.integer({ min: 0, max: IMAGE_SIZE - 1 }), requests: fc.integer({ min: 1, max: 80 }) }),
    fc.record({ kind: fc.constant('one' as const), start: fc.integer({ min: 0, max: IMAGE_SIZE - 1 }), requests: fc.integer({ min: 1, max: 9000 }) }),
  ),
  { minLength: 1, maxLength: 12 },
).map((parts) => {
  const ws: W[] = [];
  for (const p of parts) {
    if (p.kind === 'one') {
      ws.push({ offset: p.start, length: Math.min(p.requests, IMAGE_SIZE - p.start) });
      continue;
    }
    for (let i = 0, at = p.start; i < p.requests && at < IMAGE_SIZE; i++, at += 128 * KiB) {
      ws.push({ offset: at, length: Math.min(128 * KiB, IMAGE_SIZE - at) });
    }
  }
  return ws;
});

async function apply(t: ChangeTracker, ws: W[]): Promise<void> {
  for (const w of ws) await t.beforeWrite(w.offset, w.length);
}

describe('ChangeTracker: marking ahead of sequential streams', () => {
  test('property: every written cluster is recorded; without mark-ahead nothing else is', async () => {
    await fc.assert(fc.asyncProperty(writesArb, async (ws) => {
      const j = await newJournal();
      await apply(new ChangeTracker(j, 0), ws);
      const written = new Set(ws.flatMap((w) => clustersOf(w.offset, w.length)));
      assert.deepEqual([...recorded(j)].sort((a, b) => a - b), [...written].sort((a, b) => a - b));
    }), { numRuns: 60 });
  });

  test('property: with mark-ahead, nothing written is missed and every extra cluster lies within 1 MiB past a long stream', async () => {
    await fc.assert(fc.asyncProperty(writesArb, async (ws) => {
      const j = await newJournal();
      await apply(new ChangeTracker(j, MiB), ws);
      const got = recorded(j);
      const written = new Set(ws.flatMap((w) => clustersOf(w.offset, w.length)));
      for (const c of written) assert.ok(got.has(c), `written cluster ${c} not recorded`);
      // Windows where an over-report is allowed: up to 1 MiB past a write that continued a stream
      // of at least MARK_AHEAD_AFTER bytes.
      const windows: [number, number][] = [];
      let runEnd = -1;
      let run = 0;
      for (const w of ws) {
        run = w.offset === runEnd ? run + w.length : w.length;
        runEnd = w.offset + w.length;
        if (run - w.length >= MARK_AHEAD_AFTER) windows.push([Math.floor(runEnd / CS), Math.floor((runEnd - 1 + MiB) / CS)]);
      }
      for (const c of got) {
        if (written.has(c)) continue;
        assert.ok(windows.some(([a, b]) => c >= a && c <= b), `cluster ${c} recorded but neither written nor within 1 MiB past a long stream`);
      }
      assert.ok(Math.max(...got) < Math.ceil(IMAGE_SIZE / CS), 'nothing marked past the end of the image');
    }), { numRuns: 60 });
  });

  test('a long sequential stream rarely waits for the journal with mark-ahead', async () => {
    const stream: W[] = [];
    for (let at = 0; at < 64 * MiB; at += 128 * KiB) stream.push({ offset: at, length: 128 * KiB });
    const waits = async (markAhead: number): Promise<{ waited: number; j: Journal }> => {
      const j = await newJournal();
      const t = new ChangeTracker(j, markAhead);
      let waited = 0;
      for (const w of stream) {
        const p = t.beforeWrite(w.offset, w.length);
        if (p) { waited++; await p; }
        // Time passes between the requests of a stream (the data write): background commits run.
        await new Promise((r) => setImmediate(r));
      }
      return { waited, j };
    };
    assert.equal((await waits(0)).waited, 512, 'every 128 KiB request of a first touch waits without mark-ahead');
    const { waited, j } = await waits(MiB);
    // The first 4 MiB as before; after that the window is committed before the stream gets there.
    assert.ok(waited <= 32 + 2, `requests that waited with mark-ahead: ${waited}`);
    // Over-report: at most 1 MiB past the end of the stream.
    const highest = Math.max(...recorded(j));
    assert.ok(highest >= 64 * MiB / CS - 1 && highest <= Math.floor((64 * MiB - 1 + MiB) / CS), `highest recorded cluster ${highest}`);
  });

  test('short sequential streams and scattered writes are listed exactly', async () => {
    const j = await newJournal();
    const ws: W[] = [];
    for (let at = 10 * MiB; at < 10 * MiB + MARK_AHEAD_AFTER; at += 128 * KiB) ws.push({ offset: at, length: 128 * KiB });
    ws.push({ offset: 50 * MiB + 3, length: 100 });
    await apply(new ChangeTracker(j, MiB), ws);
    const written = new Set(ws.flatMap((w) => clustersOf(w.offset, w.length)));
    assert.deepEqual([...recorded(j)].sort((a, b) => a - b), [...written].sort((a, b) => a - b));
  });
});
