/**
 * The torture kinds, in the order they run, and what the process needs before any of them: a
 * private state directory (durability records must never go to the user's real one).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kind } from './lib/kind.js';
import { crashStatesKind } from './kinds/crash-states.js';
import { fuzzKind } from './kinds/fuzz.js';
import { ioErrorsKind } from './kinds/io-errors.js';
import { killKind } from './kinds/kill.js';
import { otherUsersKind } from './kinds/other-users.js';
import { soakKind } from './kinds/soak.js';

export const KINDS: readonly Kind[] = [crashStatesKind, killKind, ioErrorsKind, fuzzKind, soakKind, otherUsersKind];

/** The kinds a comma-separated list names (all when none); throws naming an unknown one. */
export function kindsNamed(list: string | undefined): Kind[] {
  if (!list) return [...KINDS];
  return list.split(',').map((name) => {
    const k = KINDS.find((x) => x.name === name.trim());
    if (!k) throw new Error(`unknown kind '${name}' (known: ${KINDS.map((x) => x.name).join(', ')})`);
    return k;
  });
}

/** Points TRACKFS_STATE_DIR at a fresh private directory; returns what removes it. */
export async function prepareProcess(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-torture-state-'));
  const before = process.env['TRACKFS_STATE_DIR'];
  process.env['TRACKFS_STATE_DIR'] = join(dir, 'state');
  return async () => {
    if (before === undefined) delete process.env['TRACKFS_STATE_DIR'];
    else process.env['TRACKFS_STATE_DIR'] = before;
    await rm(dir, { recursive: true, force: true });
  };
}
