/**
 * The mount(8) helper of file system type fuse.trackfs, the convention sshfs made familiar:
 * `mount -t fuse.trackfs IMAGE MOUNTPOINT -o OPTIONS` and an /etc/fstab line run
 * /sbin/mount.fuse.trackfs (put in place by `trackfs install-mount-helper`), which turns the -o
 * options into `trackfs mount` options. There is no umount helper: umount(8) looks only for
 * umount.fuse (it knows the type from statfs, without the subtype) and calls umount(2), and the
 * daemon, which watches the mount table, then closes the journal clean and exits.
 *
 * mount(8) (util-linux libmount) runs `mount.fuse.trackfs SOURCE TARGET [-sfnv] [-N NS] [-o OPTS]
 * [-t TYPE]` with SOURCE and TARGET as absolute paths, and expects its own exit codes back: 1 for a
 * wrong invocation, 32 for a failed mount.
 *
 * The option vocabulary is one table (OPTIONS). Paths in options must be absolute: an fstab line
 * has no working directory. Everything is then passed to `trackfs mount`, which checks every path
 * as it does when typed. `reset-journal` is refused: from fstab it would start a new history at
 * every boot, silently making every backup a full one.
 */
import { isAbsolute, resolve } from 'node:path';
import { main } from './main.js';
import { printable, shellQuote } from '../util/text.js';

/** mount(8)'s exit codes, which its helpers answer with. */
export const MOUNT_EXIT = { ok: 0, usage: 1, failure: 32 } as const;

export class HelperUsageError extends Error {}

const USAGE = 'mount.fuse.trackfs IMAGE MOUNTPOINT [-sfnv] [-o OPTIONS]';

type Rule =
  /** name=VALUE -> --flag=VALUE (path: the value must be an absolute path) */
  | { kind: 'value'; flag: string; path?: boolean }
  /** a bare name that sets a boolean option of trackfs mount (the last of ro/rw wins) */
  | { kind: 'switch'; flag: string; on: boolean }
  /** true of every trackfs mount already: accepted, nothing to pass */
  | { kind: 'inherent' }
  /** mount(8)'s own (fstab's defaults, noauto, nofail, _netdev ...): not for the file system */
  | { kind: 'mount8' }
  | { kind: 'refused'; why: string };

/** Names are given with '-' here; '_' is accepted for it (allow_other, cluster_size ...). */
const OPTIONS: Readonly<Record<string, Rule>> = {
  'journal': { kind: 'value', flag: '--journal', path: true },
  'durability': { kind: 'value', flag: '--durability' },
  'cluster-size': { kind: 'value', flag: '--cluster-size' },
  'mark-ahead': { kind: 'value', flag: '--mark-ahead' },
  'log-level': { kind: 'value', flag: '--log-level' },
  'log-file': { kind: 'value', flag: '--log-file', path: true },
  'ro': { kind: 'switch', flag: '--read-only', on: true },
  'rw': { kind: 'switch', flag: '--read-only', on: false },
  'allow-other': { kind: 'switch', flag: '--allow-other', on: true },
  // FUSE mounts are nosuid,nodev; trackfs always mounts with default_permissions.
  'nosuid': { kind: 'inherent' },
  'nodev': { kind: 'inherent' },
  'default-permissions': { kind: 'inherent' },
  'defaults': { kind: 'mount8' },
  'auto': { kind: 'mount8' },
  'noauto': { kind: 'mount8' },
  'nofail': { kind: 'mount8' },
  '_netdev': { kind: 'mount8' },
  'nouser': { kind: 'mount8' },
  'reset-journal': {
    kind: 'refused',
    why: 'from /etc/fstab it would start a new history at every mount, and every backup would be a full one; '
      + 'run \'trackfs mount --reset-journal IMAGE MOUNTPOINT\' once, then mount as usual',
  },
  ...Object.fromEntries(['user', 'users', 'owner', 'group'].map((name) => [name, {
    kind: 'refused',
    why: 'mounts by other users through /etc/fstab are not supported; a user mounts with \'trackfs mount IMAGE MOUNTPOINT\'',
  } satisfies Rule])),
};

/** What the helper was asked to do. */
export interface MountPlan {
  /** The `trackfs mount ...` command line (without `trackfs`). */
  trackfsArgs: string[];
  /** -f: check the options, mount nothing. */
  fake: boolean;
  /** -v: print the trackfs command line. */
  verbose: boolean;
  /** Options left out under -s (sloppy), to warn about. */
  ignored: string[];
}

/** Splits an option string at commas outside double quotes; `name="a,b"` keeps its comma. */
export function splitOptions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted) throw new HelperUsageError(`unbalanced double quote in mount options '${printable(text)}'`);
  out.push(current);
  return out.filter((o) => o !== '');
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value.replace(/"/g, '');
}

function canonicalName(name: string): string {
  return name === '_netdev' ? name : name.replace(/_/g, '-');
}

const KNOWN = Object.entries(OPTIONS).filter(([, r]) => r.kind === 'value' || r.kind === 'switch')
  .map(([n, r]) => (r.kind === 'value' ? `${n}=` : n)).join(', ');

/** Flags mount(8) may pass, each a single letter; -o, -t and -N take a value. */
interface HelperFlags {
  options: string[];
  flags: Set<string>;
  type: string | null;
}

function parseFlags(args: string[], allowed: string): HelperFlags {
  const out: HelperFlags = { options: [], flags: new Set(), type: null };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') throw new HelperUsageError(`unexpected argument '${printable(arg)}' (usage: ${USAGE})`);
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      if (letter === 'o' || letter === 't' || letter === 'N') {
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i];
        if (value === undefined) throw new HelperUsageError(`-${letter} needs a value (usage: ${USAGE})`);
        if (letter === 'o') out.options.push(value);
        else if (letter === 't') out.type = value;
        else throw new HelperUsageError('mounting in another mount namespace (-N) is not supported');
        break;
      }
      if (!allowed.includes(letter)) throw new HelperUsageError(`unknown flag -${printable(letter)} (usage: ${USAGE})`);
      out.flags.add(letter);
    }
  }
  if (out.type !== null && out.type !== 'fuse.trackfs' && out.type !== 'trackfs') {
    throw new HelperUsageError(`this helper mounts type fuse.trackfs, not '${printable(out.type)}'`);
  }
  return out;
}

/**
 * Maps mount(8)'s call of the helper to a `trackfs mount` command line. Throws HelperUsageError
 * (one line) for anything it cannot map. `cwd` resolves an IMAGE or MOUNTPOINT typed as a relative
 * path by someone calling the helper directly (mount(8) passes absolute ones).
 */
export function planMount(argv: readonly string[], cwd: string): MountPlan {
  const [image, mountpoint, ...rest] = argv;
  if (image === undefined || mountpoint === undefined || image === '' || mountpoint === '') {
    throw new HelperUsageError(`an image and a mountpoint are needed (usage: ${USAGE})`);
  }
  const parsed = parseFlags(rest, 'sfnv');
  const sloppy = parsed.flags.has('s');
  const values = new Map<string, string>();
  const switches = new Map<string, boolean>();
  const ignored: string[] = [];
  const items = parsed.options.flatMap(splitOptions).map((option) => {
    const eq = option.indexOf('=');
    const given = eq < 0 ? option : option.slice(0, eq);
    const name = canonicalName(given);
    return { given, name, value: eq < 0 ? null : unquote(option.slice(eq + 1)), rule: OPTIONS[name] };
  });
  // A refusal first: fstab's `user` comes after the noexec it implies, and is the one to explain.
  for (const { given, rule } of items) {
    if (rule?.kind === 'refused') throw new HelperUsageError(`mount option '${printable(given)}' is refused: ${rule.why}`);
  }
  for (const { given, name, value, rule } of items) {
    if (name.startsWith('x-') || name === 'comment') continue; // for mount(8) and systemd
    if (!rule) {
      if (sloppy) {
        ignored.push(given);
        continue;
      }
      throw new HelperUsageError(`unknown mount option '${printable(given)}' (trackfs takes: ${KNOWN})`);
    }
    if (rule.kind === 'value') {
      if (value === null || value === '') throw new HelperUsageError(`mount option '${printable(given)}' needs a value (${name}=...)`);
      if (rule.path && !isAbsolute(value)) {
        throw new HelperUsageError(`mount option ${name}= needs an absolute path, not '${printable(value)}'`);
      }
      values.set(rule.flag, value);
      continue;
    }
    if (value !== null) throw new HelperUsageError(`mount option '${printable(given)}' takes no value`);
    if (rule.kind === 'switch') switches.set(rule.flag, rule.on);
  }
  const trackfsArgs = ['mount'];
  for (const [flag, value] of values) trackfsArgs.push(`${flag}=${value}`);
  for (const [flag, on] of switches) if (on) trackfsArgs.push(flag);
  // Absolute, so that neither can be read as an option.
  trackfsArgs.push(resolve(cwd, image), resolve(cwd, mountpoint));
  return { trackfsArgs, fake: parsed.flags.has('f'), verbose: parsed.flags.has('v'), ignored };
}

/** A shell-readable rendering of a command line, for -v. */
function shellLine(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : shellQuote(a))).join(' ');
}

/** Runs `trackfs ARGS` in this process and returns mount(8)'s exit code for its outcome. */
async function runTrackfs(args: string[]): Promise<number> {
  process.exitCode = 0;
  await main(args);
  const code = Number(process.exitCode ?? 0);
  return code === 0 ? MOUNT_EXIT.ok : code === 2 ? MOUNT_EXIT.usage : MOUNT_EXIT.failure;
}

function usageFailure(e: unknown): number {
  if (!(e instanceof HelperUsageError)) throw e;
  process.stderr.write(`trackfs: ${printable(e.message)}\n`);
  return MOUNT_EXIT.usage;
}

/** Entry of bin/mount.fuse.trackfs.js. */
export async function mountHelperMain(argv: string[]): Promise<void> {
  let code: number;
  try {
    const plan = planMount(argv, process.cwd());
    if (plan.ignored.length > 0) {
      process.stderr.write(`trackfs: ignoring unknown mount option(s) ${plan.ignored.map(printable).join(', ')} (-s)\n`);
    }
    if (plan.verbose) {
      const line = printable(shellLine(plan.trackfsArgs));
      process.stdout.write(`mount.fuse.trackfs: ${plan.fake ? 'would run' : 'running'} trackfs ${line}\n`);
    }
    code = plan.fake ? MOUNT_EXIT.ok : await runTrackfs(plan.trackfsArgs);
  } catch (e) {
    code = usageFailure(e);
  }
  process.exitCode = code;
}
