/**
 * `node dist/bench/durability-cost.js`: what ordered mode pays, per sync, for surviving the
 * failure of the journal's disk (issue 14), measured in-process.
 *
 *   perSync     the journal remembers every page written since the last successful fdatasync (a
 *               Set, added to per page write, cleared per good sync) so that a failed sync can make
 *               them dirty again and a durability record can hold their bits. Measured two ways, for
 *               P pages written per sync interval: the bookkeeping alone (the same Set operations),
 *               and a whole ordered commit + sync cycle over an io that does nothing, so the
 *               bookkeeping is seen against the journal's own CPU per sync (no disk in either).
 *   fdatasync   for scale: one page write + fdatasync of a real file in the temp directory.
 *   atFailure   what a failure costs once: the record of P pages written and synced (file and
 *               directory) into a state directory in the temp directory.
 *
 * Prints one JSON object. Best of 5 interleaved rounds for the in-process figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/journal/journal.js';
import type { JournalIo } from '../src/journal/journal-io.js';
import { CLUSTERS_PER_PAGE } from '../src/journal/format.js';
import { writeRecord, removeRecord, type DurabilityRecord } from '../src/journal/durability-record.js';

/** Every call succeeds at once and keeps nothing: the journal's CPU alone. */
class NullIo implements JournalIo {
  async read(buf: Buffer): Promise<number> { buf.fill(0); return buf.length; }
  async write(): Promise<void> {}
  async datasync(): Promise<void> {}
  async size(): Promise<number> { return 0; }
  async truncate(): Promise<void> {}
  async close(): Promise<void> {}
}

const PAGES = [1, 16, 256, 4096];
const CLUSTER = 64 * 1024;

/** ns per sync interval of the bookkeeping alone: P adds to a Set, one clear. */
function setCostNs(pages: number, rounds: number): number {
  const set = new Set<number>();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let p = 0; p < pages; p++) set.add(p);
    set.clear();
  }
  return Number(process.hrtime.bigint() - t0) / rounds;
}

/**
 * µs per ordered cycle on a fresh journal: one new cluster marked in each of P pages, one commit,
 * one sync. `rounds` < CLUSTERS_PER_PAGE, so every cycle writes P pages and syncs them.
 */
async function cycleUs(pages: number, rounds: number): Promise<number> {
  const imageSize = pages * CLUSTERS_PER_PAGE * CLUSTER;
  const journal = await Journal.create(new NullIo(), { imageSize, clusterSize: CLUSTER, imagePath: '/bench' });
  await journal.activate({ durability: 'ordered', bootId: 'bench', pid: process.pid, imagePath: '/bench' });
  const syncsBefore = journal.stats.syncs;
  const t0 = process.hrtime.bigint();
  for (let offset = 0; offset < rounds; offset++) {
    const waits: Promise<void>[] = [];
    for (let p = 0; p < pages; p++) {
      const c = p * CLUSTERS_PER_PAGE + offset;
      const w = journal.record(c, c);
      if (w) waits.push(w);
    }
    await Promise.all(waits);
    await journal.sync();
  }
  const us = Number(process.hrtime.bigint() - t0) / rounds / 1000;
  if (journal.stats.syncs - syncsBefore !== rounds) throw new Error(`${rounds} cycles made ${journal.stats.syncs - syncsBefore} syncs`);
  await journal.abandon();
  return us;
}

async function fdatasyncUs(dir: string, n: number): Promise<number> {
  const fh = await open(join(dir, 'sync-probe'), 'w');
  const page = Buffer.alloc(4096, 1);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await fh.write(page, 0, page.length, (i % 64) * 4096);
    await fh.datasync();
  }
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  await fh.close();
  return us;
}

async function recordMs(dir: string, pages: number): Promise<{ ms: number; bytes: number }> {
  const bits = new Uint8Array(4064);
  bits[7] = 0x81;
  const record: DurabilityRecord = {
    generation: 'ab'.repeat(16), journal: { path: '/bench', device: '0:0', inode: '1' },
    lostAt: Date.now(), reason: 'bench', errorCode: 'EIO',
    epoch: 1, imageSize: pages * CLUSTERS_PER_PAGE * CLUSTER, clusterSize: CLUSTER, complete: true, pagesAtRisk: pages,
    pages: Array.from({ length: pages }, (_, index) => ({ index, bits })),
  };
  const state = join(dir, 'state');
  const t0 = process.hrtime.bigint();
  const path = await writeRecord(state, record);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const fh = await open(path, 'r');
  const bytes = (await fh.stat()).size;
  await fh.close();
  await removeRecord(state, record.generation);
  return { ms, bytes };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-bench-durability-'));
  try {
    const perSync: Record<string, { setNs: number; cycleUs: number; setShare: string }> = {};
    for (const pages of PAGES) {
      const rounds = Math.min(CLUSTERS_PER_PAGE - 1, Math.max(20, Math.floor(20_000 / pages)));
      let setNs = Infinity;
      let cyc = Infinity;
      for (let round = 0; round < 5; round++) {
        setNs = Math.min(setNs, setCostNs(pages, rounds * 10));
        cyc = Math.min(cyc, await cycleUs(pages, rounds));
      }
      perSync[`${pages} page(s)`] = {
        setNs: Number(setNs.toFixed(1)), cycleUs: Number(cyc.toFixed(1)), setShare: `${((setNs / 1000 / cyc) * 100).toFixed(2)} %`,
      };
    }
    const sync = await fdatasyncUs(dir, 200);
    const atFailure: Record<string, { ms: number; bytes: number }> = {};
    for (const pages of PAGES) {
      const r = await recordMs(dir, pages);
      atFailure[`${pages} page(s)`] = { ms: Number(r.ms.toFixed(2)), bytes: r.bytes };
    }
    process.stdout.write(`${JSON.stringify({ perSync, fdatasyncUs: Number(sync.toFixed(1)), atFailure }, null, 1)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`durability-cost: ${(e as Error).message}\n`);
  process.exit(1);
});
