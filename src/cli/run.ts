/**
 * `trackfs run IMAGE [mount options] [--json] -- COMMAND [ARGS...]`: what COMMAND writes to IMAGE,
 * in one step. Mounts IMAGE on a private temporary directory, takes a checkpoint (so an existing
 * journal reports this run only), runs COMMAND with no shell (`{}` in ARGS is the volume's path,
 * as with find -exec; TRACKFS_VOLUME and TRACKFS_MOUNT are in its environment), then prints what
 * it changed (as `changes`), unmounts and removes the directory.
 *
 * Exit status: COMMAND's own (128 + the signal's number when a signal ended it; 126 when it
 * cannot be run, 127 when it is not found, as a shell says); RUN_FAILED (125) when trackfs itself
 * failed (mount, checkpoint, listing, unmount), with one line saying why.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rmdir } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOLUME_NAME } from '../fuse/adapter.js';
import { callDaemon } from '../control/client.js';
import { native } from '../native/native.js';
import { mountPaths } from '../util/runtime.js';
import { printable } from '../util/text.js';
import { CliError, EXIT } from './errors.js';
import { mountCommand, type MountArgs } from './mount.js';
import { takeCheckpoint } from './checkpoint.js';
import { listOptions, openList, printList } from './changes.js';
import { unmountCommand } from './unmount.js';

/** trackfs itself failed: distinct from COMMAND's codes (as `timeout` and `env` use 125). */
export const RUN_FAILED = 125;
const UNMOUNT_TIMEOUT_S = 30;
/** Signals passed on to COMMAND; trackfs waits for it to end, then cleans up. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
/** The signals a terminal sends to its whole foreground process group, COMMAND included. */
const FROM_TERMINAL: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGQUIT', 'SIGHUP']);

export interface RunArgs {
  mount: Omit<MountArgs, 'image' | 'mountpoint' | 'foreground'>;
  image: string;
  json: boolean;
  /** COMMAND and its ARGS, as typed after `--`. */
  command: string[];
}

/** ARGS with every `{}` replaced by the volume's path (the command's name is left as typed). */
export function substituteVolume(command: readonly string[], volume: string): string[] {
  return command.map((arg, i) => (i === 0 ? arg : arg.split('{}').join(volume)));
}

/** How a finished COMMAND maps to an exit status, the way a shell reports it. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? osConstants.signals[signal] : undefined;
  return 128 + (n ?? 0);
}

/** What a SignalGate signals: COMMAND's process. */
export interface Command {
  readonly pid?: number | undefined;
  kill(sig: NodeJS.Signals): boolean;
}

/**
 * For the whole run, a signal never kills trackfs half-way (that would leave a mount behind): it
 * goes to COMMAND while COMMAND runs (unless the terminal gave it to COMMAND already); before, it
 * stops the run from starting COMMAND; after, the clean-up goes on.
 */
export class SignalGate {
  child: Command | null = null;
  received: NodeJS.Signals | null = null;
  private readonly handler = (sig: NodeJS.Signals) => this.handle(sig);

  /** inForeground(pid): the addon's answer (1 yes, 0 no, below 0 cannot tell), undefined without it. */
  constructor(private readonly inForeground = (pid: number): number | undefined => native()?.inTerminalForeground(pid)) {
    for (const sig of FORWARDED) process.on(sig, this.handler);
  }

  /**
   * Passes `sig` on unless COMMAND has it from the terminal already: Ctrl-C, Ctrl-\ and a hangup
   * go to the terminal's whole foreground process group, and COMMAND starts in trackfs's. Passing
   * such a signal on would deliver it twice, and many programs read a second Ctrl-C as "stop now,
   * skip the clean-up". A COMMAND that left the foreground group (`timeout` does) gets it passed
   * on. The cost: `kill -INT` sent to trackfs alone while COMMAND is in the foreground is not
   * passed on (GNU time ignores it too); SIGTERM always is. Without the native addon trackfs
   * cannot tell, and passes every signal on.
   */
  handle(sig: NodeJS.Signals): void {
    this.received ??= sig;
    const child = this.child;
    const fromTerminal = FROM_TERMINAL.has(sig) && child?.pid !== undefined && this.inForeground(child.pid) === 1;
    if (child && !fromTerminal) child.kill(sig);
  }

  close(): void {
    for (const sig of FORWARDED) process.off(sig, this.handler);
  }
}

/** Runs COMMAND to its end, signals passed on to it. */
function runChild(command: string[], env: NodeJS.ProcessEnv, gate: SignalGate): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    gate.child = child;
    const done = (status: number) => {
      gate.child = null;
      resolve(status);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      const missing = e.code === 'ENOENT';
      process.stderr.write(`trackfs: cannot run ${printable(command[0]!)}: ${missing ? 'command not found' : e.message}\n`);
      done(missing ? 127 : 126);
    });
    child.on('exit', (code, signal) => done(exitStatusOf(code, signal)));
  });
}

/** Any failure of trackfs's own becomes one line and RUN_FAILED (a usage error stays one). */
function asRunFailure(e: unknown): CliError {
  if (e instanceof CliError && e.exitCode === EXIT.usage) return e;
  return new CliError((e as Error)?.message ?? String(e), RUN_FAILED);
}

/**
 * Unmounts; a volume still open (COMMAND left a process behind) is detached lazily, with a
 * message, and not waited for: the daemon closes the journal once the last user lets go.
 */
async function unmountAfterRun(mountpoint: string): Promise<void> {
  try {
    await unmountCommand(mountpoint, false, UNMOUNT_TIMEOUT_S);
  } catch (e) {
    // The daemon refuses a plain unmount of an open volume, and says to use --lazy.
    if (!(e instanceof CliError) || !e.message.includes('--lazy')) throw e;
    process.stderr.write('trackfs: the volume is still open (did COMMAND leave a process running?): detached it lazily; '
      + 'the journal is closed when the last process lets go\n');
    await callDaemon(mountPaths(mountpoint).socket, { op: 'unmount', lazy: true }, UNMOUNT_TIMEOUT_S * 1000);
  }
}

export async function runCommand(args: RunArgs): Promise<number> {
  if (args.command.length === 0 || args.command[0] === '') {
    throw new CliError('name the COMMAND to run after --: trackfs run IMAGE [options] -- COMMAND [ARGS...]', EXIT.usage);
  }
  const opts = listOptions({ json: args.json });
  const dir = await mkdtemp(join(tmpdir(), 'trackfs-run-'));
  const mountpoint = join(dir, 'mnt');
  let mounted = false;
  const gate = new SignalGate();
  try {
    await mkdir(mountpoint, { mode: 0o700 });
    await mountCommand({ ...args.mount, image: args.image, mountpoint, foreground: false });
    mounted = true;
    const since = (await takeCheckpoint(mountpoint)).id;
    const volume = join(mountpoint, VOLUME_NAME);
    const env = { ...process.env, TRACKFS_VOLUME: volume, TRACKFS_MOUNT: mountpoint };
    if (gate.received) throw new CliError(`${gate.received} before COMMAND started: not run`, RUN_FAILED);
    const status = await runChild(substituteVolume(args.command, volume), env, gate);
    const listed = await printList(await openList(mountpoint, since, null), opts);
    mounted = false; // from here on, a failed unmount is reported as such, not retried
    await unmountAfterRun(mountpoint);
    if (listed !== EXIT.ok) throw new CliError(`the changes could not be listed from checkpoint ${since} (exit ${listed})`, RUN_FAILED);
    return status;
  } catch (e) {
    throw asRunFailure(e);
  } finally {
    if (mounted) await unmountAfterRun(mountpoint).catch(() => {});
    gate.close();
    // Only empty directories are removed: never anything that may still be a mount.
    await rmdir(mountpoint).catch(() => {});
    await rmdir(dir).catch(() => {});
  }
}
