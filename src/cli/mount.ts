/**
 * `trackfs mount`: validates the command line, then starts the daemon in the background and
 * returns only once the mount is live (like mount(8) and sshfs), or runs it in the foreground.
 * Everything that needs the file system is checked by the daemon itself, which reports a one-line
 * reason back through a pipe.
 */
import { spawn } from 'node:child_process';
import { closeSync, readSync, writeSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runDaemon, type Readiness } from '../mount/run.js';
import { requireFuse } from '../fuse/availability.js';
import type { MountConfig } from '../mount/config.js';
import { isValidClusterSize } from '../journal/format.js';
import { createLogger } from '../util/logger.js';
import { TRACKFS_BIN } from '../util/package-info.js';
import { ensureRuntimeDir, mountPaths } from '../util/runtime.js';
import { parseSize } from '../util/size.js';
import { openLogFile } from '../util/log-file.js';
import { openPrivateAppend } from '../util/private-dir.js';
import { firstSameFile, isInside } from '../util/same-file.js';
import { CliError, EXIT, fail } from './errors.js';
import { printable } from '../util/text.js';

export interface MountArgs {
  image: string;
  mountpoint: string;
  journal?: string;
  clusterSize?: string;
  durability: 'strict' | 'ordered';
  readOnly: boolean;
  allowOther: boolean;
  resetJournal: boolean;
  foreground: boolean;
  logLevel: string;
  logFile?: string;
  trackingOff: boolean;
  markAhead: string;
}

interface DaemonParams {
  config: MountConfig;
  logLevel: string;
  foreground: boolean;
}

const READY_TIMEOUT_MS = 60_000;

function parseClusterSize(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = parseSize(text);
  if (n === null || !isValidClusterSize(n)) fail(`bad cluster size '${text}': need a power of two from 4K to 64M (e.g. 64K, 1M)`, EXIT.usage);
  return n;
}

/** Up to the largest cluster size: more would list much that was never written. */
const MAX_MARK_AHEAD = 64 * 1024 * 1024;

function parseMarkAhead(text: string): number {
  const n = parseSize(text);
  if (n === null || n > MAX_MARK_AHEAD) fail(`bad --mark-ahead '${text}': need a size from 0 (off) to 64M (e.g. 1M)`, EXIT.usage);
  return n;
}

async function buildConfig(args: MountArgs): Promise<MountConfig> {
  if (args.readOnly && args.resetJournal) fail('--reset-journal writes the journal, and --read-only opens it read-only: use one or the other', EXIT.usage);
  const image = resolve(args.image);
  const mountpoint = resolve(args.mountpoint);
  let isBlock = false;
  try {
    isBlock = statSync(image).isBlockDevice();
  } catch {
    // The daemon reports a missing image with the full message.
  }
  if (isBlock && !args.journal) fail(`--journal is required for a block device (${args.image}): the journal cannot live beside it`, EXIT.usage);
  const clusterSize = parseClusterSize(args.clusterSize);
  const markAhead = parseMarkAhead(args.markAhead);
  const real = await realpath(mountpoint).catch(() => mountpoint);
  const logFile = args.logFile ? resolve(args.logFile) : args.foreground ? null : mountPaths(real).log;
  return {
    image,
    mountpoint,
    journal: resolve(args.journal ?? `${args.image}.trackfs`),
    clusterSize,
    durability: args.durability,
    readOnly: args.readOnly,
    allowOther: args.allowOther,
    resetJournal: args.resetJournal,
    logFile,
    trackingOff: args.trackingOff,
    markAhead,
  };
}

/**
 * The log is appended to: it must not be a file of the mount's own (the image, the journal) nor
 * lie inside the mountpoint (the volume, or a file the mount is about to hide).
 */
async function refuseLogFileClash(config: MountConfig): Promise<void> {
  if (!config.logFile) return;
  const clash = await firstSameFile(config.logFile, [['the image', config.image], ['the journal', config.journal]]);
  if (clash) fail(`log file ${config.logFile} is ${clash}; name another file with --log-file`);
  if (await isInside(config.logFile, config.mountpoint)) fail(`log file ${config.logFile} is inside the mountpoint ${config.mountpoint}; name a file elsewhere`);
}

/** Opens the log: a file the user named, or the default one in the (private) runtime directory. */
function openLog(path: string, inRuntimeDir: boolean): number {
  try {
    return inRuntimeDir ? openPrivateAppend(path) : openLogFile(path);
  } catch (e) {
    fail((e as Error).message);
  }
}

export async function mountCommand(args: MountArgs): Promise<void> {
  const config = await buildConfig(args);
  // Said here, before a daemon and its log exist; the daemon asks again (it has other callers).
  try {
    await requireFuse();
  } catch (e) {
    fail((e as Error).message);
  }
  await refuseLogFileClash(config);
  const params: DaemonParams = { config, logLevel: args.logLevel, foreground: args.foreground };
  if (args.foreground) {
    const log = createLogger({ level: args.logLevel, fd: config.logFile ? openLog(config.logFile, false) : undefined });
    await runDaemon(config, log, {
      ready: () => { if (process.stderr.isTTY) process.stderr.write(`trackfs: ${config.image} mounted at ${config.mountpoint}/volume (Ctrl-C to unmount)\n`); },
      failed: (message) => { process.stderr.write(`trackfs: ${printable(message)}\n`); },
    });
    return;
  }
  await startBackgroundDaemon(params, args.logFile === undefined);
}

async function startBackgroundDaemon(params: DaemonParams, logInRuntimeDir: boolean): Promise<void> {
  try {
    ensureRuntimeDir();
  } catch (e) {
    fail((e as Error).message);
  }
  const logFile = params.config.logFile!;
  const logFd = openLog(logFile, logInRuntimeDir);
  // The configuration goes down fd 3 (a socket pair), not on the command line, where every user
  // could read the paths with ps; the readiness line comes back up the same way.
  const child = spawn(process.execPath, [TRACKFS_BIN, '__daemon'], {
    detached: true,
    // stdout/stderr go to the log so a crash of the daemon leaves its last words there.
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: process.env,
  });
  closeSync(logFd);
  const pipe = child.stdio[3] as import('node:stream').Duplex;
  pipe.on('error', () => {}); // a daemon that died early: its exit is reported below
  pipe.write(`${JSON.stringify(params)}\n`);
  const outcome = await new Promise<{ ok: true } | { ok: false; message: string }>((done) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      done({ ok: false, message: `the mount did not become ready within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}` });
    }, READY_TIMEOUT_MS);
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const msg = JSON.parse(text.slice(0, nl)) as { ready?: boolean; error?: string };
        done(msg.ready ? { ok: true } : { ok: false, message: msg.error ?? 'mount failed' });
      } catch {
        done({ ok: false, message: `unexpected message from the daemon; see ${logFile}` });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ ok: false, message: `the daemon exited (${signal ?? `code ${code}`}) before the mount was ready; see ${logFile}` });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      done({ ok: false, message: `cannot start the daemon: ${e.message}` });
    });
  });
  pipe.destroy();
  child.unref();
  if (!outcome.ok) throw new CliError(outcome.message);
  if (process.stderr.isTTY) {
    process.stderr.write(`trackfs: ${params.config.image} mounted at ${params.config.mountpoint}/volume (pid ${child.pid}, journal ${params.config.journal})\n`);
  }
}

/** Entry of the background daemon (hidden command). Reports readiness on fd 3. */
/** The configuration `mount` sends down fd 3, one JSON line (read before anything is served). */
function readDaemonParams(): DaemonParams {
  const chunk = Buffer.alloc(64 * 1024);
  let text = '';
  try {
    for (;;) {
      const n = readSync(3, chunk, 0, chunk.length, null);
      if (n === 0) break;
      text += chunk.subarray(0, n).toString('utf8');
      if (text.includes('\n')) break;
    }
    return JSON.parse(text.slice(0, text.indexOf('\n'))) as DaemonParams;
  } catch {
    fail('__daemon is started by trackfs mount, which sends its configuration on descriptor 3');
  }
}

export async function daemonCommand(): Promise<void> {
  const params = readDaemonParams();
  // Hold no directory of the caller's: a cwd on a removable volume would keep it from unmounting.
  process.chdir('/');
  // In the background the log file is this process's stdout and stderr, opened by `mount`.
  const log = createLogger({ level: params.logLevel, fd: params.config.logFile ? 1 : undefined });
  // Synchronous on purpose: a pipe to the waiting parent, written once, and the failure path exits
  // right after.
  const tell = (msg: object): void => {
    try {
      writeSync(3, `${JSON.stringify(msg)}\n`);
      closeSync(3);
    } catch {
      // The parent gave up waiting; the log has the story.
    }
  };
  const readiness: Readiness = {
    ready: ({ pid }) => tell({ ready: true, pid }),
    failed: (message) => tell({ error: message }),
  };
  await runDaemon(params.config, log, readiness);
}
