/**
 * What the backup tests share: running `trackfs backup` and `checkpoint` as a user would, and
 * comparing files by SHA-256 read from child processes (never sync I/O on the mount from here).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Harness, ChangesJson } from './harness.js';
import type { BackupSummary } from '../../src/backup/run.js';
import type { Sidecar } from '../../src/backup/sidecar.js';

export const ID_RE = /^[0-9a-f]{12}:\d+$/;

/** What `backup --json` prints: the engine's own summary type. */
export type BackupJson = BackupSummary;

export async function backup(h: Harness, source: string, target: string, extra: string[] = []): Promise<BackupJson> {
  const r = await h.trackfsOk(['backup', source, target, '--json', '--no-progress', ...extra], { timeoutMs: 120_000 });
  const out = JSON.parse(r.stdout) as BackupJson;
  assert.equal(out.target, target);
  return out;
}

export async function readSidecar(target: string): Promise<Sidecar> {
  return JSON.parse(await readFile(`${target}.trackfs-backup`, 'utf8')) as Sidecar;
}

export async function changesSince(h: Harness, source: string, since: string): Promise<ChangesJson> {
  const r = await h.trackfsOk(['changes', source, '--since', since, '--json']);
  return JSON.parse(r.stdout) as ChangesJson;
}

export async function checkpoint(h: Harness, target: string): Promise<string> {
  const r = await h.trackfsOk(['checkpoint', target]);
  const id = r.stdout.trim();
  assert.match(id, ID_RE, `checkpoint printed ${JSON.stringify(r.stdout)}`);
  return id;
}

/** SHA-256 of both, each read by a child process. */
export async function assertIdentical(h: Harness, a: string, b: string, what: string): Promise<void> {
  const [x, y] = await Promise.all([h.sha256(a), h.sha256(b)]);
  assert.equal(x, y, `${what}: ${basename(a)} and ${basename(b)} differ`);
}

export async function assertDiffer(h: Harness, a: string, b: string, what: string): Promise<void> {
  const [x, y] = await Promise.all([h.sha256(a), h.sha256(b)]);
  assert.notEqual(x, y, `${what}: ${basename(a)} and ${basename(b)} are already identical (the check would prove nothing)`);
}
