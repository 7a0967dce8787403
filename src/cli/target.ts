/**
 * What a user names on the command line for status/changes/checkpoint/eject: a live mountpoint
 * (asked over its control socket) or a journal file (read offline).
 */
import { stat } from 'node:fs/promises';
import { askMount, isDirectory, isTrackfsMount, mountRefAt, type MountRef } from '../control/ask.js';
import { fail } from './errors.js';

export { askMount, isTrackfsMount };

export type Target = ({ kind: 'mount' } & MountRef) | { kind: 'journal'; path: string };

export async function resolveTarget(name: string): Promise<Target> {
  if (await isDirectory(name)) return { kind: 'mount', ...(await mountRefAt(name)) };
  if ((await stat(name)).isFile()) return { kind: 'journal', path: name };
  fail(`${name} is neither a trackfs mountpoint nor a journal file`);
}
