/**
 * The Node.js API, for JavaScript test suites: `import { mount } from 'trackfs'`.
 *
 * A thin client of the same daemon and control protocol as the command line, never a second
 * implementation: `mount` and `unmount` run trackfs's own CLI (which starts the daemon, checks
 * everything and waits for it), every other call is one control request to the mount's daemon.
 * Failures reject with an Error carrying the CLI's one-line message.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { askMount, mountRefAt, streamMount, type MountRef } from './control/ask.js';
import type { EjectReply, MountStatus, ResumeReply } from './control/protocol.js';
import type { ChangesReport, Extent } from './journal/changes.js';
import { VOLUME_NAME } from './fuse/adapter.js';
import { TRACKFS_BIN } from './util/package-info.js';

export type { ChangesReport, Extent, MountStatus, EjectReply, ResumeReply };

const CLI_TIMEOUT_MS = 120_000;

/** How the volume is mounted: the options of `trackfs mount`. */
export interface MountOptions {
  /** Journal file (default: IMAGE.trackfs; required for a block device). */
  journal?: string;
  /** Tracking granularity, a power of two from 4K to 64M, e.g. '4K' (default 64K for a new journal). */
  clusterSize?: string;
  durability?: 'strict' | 'ordered';
  /** How far to mark ahead of a sequential writer, e.g. '0' to mark exactly what is written. */
  markAhead?: string;
  readOnly?: boolean;
  /** Start a new history: forget all recorded changes. */
  resetJournal?: boolean;
}

export interface TrackfsMount {
  /** The mountpoint, as a real path. */
  readonly mountpoint: string;
  /** The volume: the image as a file, where writes are tracked. */
  readonly volume: string;
  /** What changed (after checkpoint `since`, up to checkpoint `until`), every extent in memory. */
  changes(range?: { since?: string; until?: string }): Promise<ChangesReport>;
  /** Ends the current epoch; resolves to the checkpoint's id (GENERATION:NUMBER). */
  checkpoint(): Promise<string>;
  status(): Promise<MountStatus>;
  /** Lets go of the image and the journal, keeping the mount (I/O fails until resume). */
  eject(): Promise<EjectReply>;
  resume(): Promise<ResumeReply>;
  /** Flushes, closes the journal, unmounts and waits for the daemon to exit. */
  unmount(options?: { lazy?: boolean }): Promise<void>;
}

/** Runs the trackfs CLI; rejects with its one-line message. */
function cli(args: string[]): Promise<string> {
  return new Promise((done, reject) => {
    execFile(process.execPath, [TRACKFS_BIN, ...args], { timeout: CLI_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return done(stdout);
      const line = stderr.trim().split('\n').at(-1)?.replace(/^trackfs: /, '');
      reject(new Error(line || `trackfs ${args[0]} failed: ${err.message}`));
    });
  });
}

function mountFlags(o: MountOptions): string[] {
  const flags: string[] = [];
  if (o.journal !== undefined) flags.push('--journal', resolve(o.journal));
  if (o.clusterSize !== undefined) flags.push('--cluster-size', o.clusterSize);
  if (o.durability !== undefined) flags.push('--durability', o.durability);
  if (o.markAhead !== undefined) flags.push('--mark-ahead', o.markAhead);
  if (o.readOnly) flags.push('--read-only');
  if (o.resetJournal) flags.push('--reset-journal');
  return flags;
}

async function changesOf(ref: MountRef, since: string | null, until: string | null): Promise<ChangesReport> {
  const { result, items } = await streamMount(ref, { op: 'changes', since, until });
  if (until !== null && result.until === undefined) throw new Error(`the daemon of ${ref.mountpoint} is older than this trackfs and cannot answer until`);
  const extents: Extent[] = [];
  for await (const batch of items) for (const e of batch) extents.push(e);
  return { ...result, extents };
}

/**
 * Mounts IMAGE at MOUNTPOINT (an empty directory) as `trackfs mount` does, and resolves once the
 * mount is live. Paths are made absolute, so none is ever read as an option.
 */
export async function mount(image: string, mountpoint: string, options: MountOptions = {}): Promise<TrackfsMount> {
  await cli(['mount', ...mountFlags(options), resolve(image), resolve(mountpoint)]);
  const ref = await mountRefAt(mountpoint);
  return {
    mountpoint: ref.mountpoint,
    volume: resolve(ref.mountpoint, VOLUME_NAME),
    changes: (range = {}) => changesOf(ref, range.since ?? null, range.until ?? null),
    checkpoint: async () => (await askMount(ref, { op: 'checkpoint' })).id,
    status: () => askMount(ref, { op: 'status' }),
    eject: () => askMount(ref, { op: 'eject' }),
    resume: () => askMount(ref, { op: 'resume' }),
    unmount: async (o = {}) => { await cli(['unmount', ...(o.lazy ? ['--lazy'] : []), ref.mountpoint]); },
  };
}
