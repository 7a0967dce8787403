/**
 * The command line: one declarative table of commands and options (yargs), validated before any
 * side effect. Every failure prints one line, `trackfs: <problem>`, and exits non-zero.
 */
import yargs from 'yargs';
import { CliError, EXIT } from './errors.js';
import { mountCommand, daemonCommand, type MountArgs } from './mount.js';
import { unmountCommand } from './unmount.js';
import { statusCommand } from './status.js';
import { changesCommand } from './changes.js';
import { ejectCommand, resumeCommand } from './eject.js';
import { checkpointCommand } from './checkpoint.js';
import { backupCommand } from './backup.js';
import { printable } from '../util/text.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Longest wait an option may ask for: a day. */
const MAX_SECONDS = 24 * 60 * 60;

/**
 * A number of seconds given on the command line: a plain decimal number above 0, at most a day.
 * Anything else (abc, NaN, -1, 0, 1e400, empty) is a usage error, found before anything is done.
 */
function parseSeconds(option: string, value: unknown): number {
  const text = Array.isArray(value) ? String(value[value.length - 1]) : String(value);
  const n = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!(n > 0 && n <= MAX_SECONDS)) throw new CliError(`bad ${option} '${printable(text)}': need a number of seconds above 0 and at most ${MAX_SECONDS} (e.g. 30)`, EXIT.usage);
  return n;
}

/**
 * yargs' complaint as one line that names the problem: some of its messages span lines ("Invalid
 * values:\n  Argument: ..."), and a mistyped command only gets "Did you mean mount?".
 */
function usageProblem(msg: string | null | undefined, argv: string[]): string {
  const text = (msg ?? 'invalid command line').replace(/\s*\n\s*/g, ' ').trim();
  const suggestion = /^Did you mean (.+)\?$/.exec(text);
  if (suggestion) {
    const typed = argv.find((a) => !a.startsWith('-'));
    return `unknown command${typed ? ` '${typed}'` : ''}; did you mean ${suggestion[1]}?`;
  }
  return text;
}

export async function main(argv: string[]): Promise<void> {
  let exitCode: number = EXIT.ok;
  try {
    await yargs(argv)
      // `-dash` is one unknown option, not -d -a -s -h (which would print help and exit 0).
      .parserConfiguration({ 'short-option-groups': false })
      .scriptName('trackfs')
      .usage('$0 <command> [options]\n\nTrack which clusters of a block image change, through a FUSE mount.')
      .command(
        'mount <image> <mountpoint>',
        'Mount IMAGE (a raw image file or a block device) at MOUNTPOINT as MOUNTPOINT/volume, tracking every write',
        (y) => y
          .positional('image', { type: 'string', demandOption: true, describe: 'raw image file or block device' })
          .positional('mountpoint', { type: 'string', demandOption: true, describe: 'empty directory' })
          .option('journal', { type: 'string', describe: 'change journal file (default: IMAGE.trackfs; required for a block device)' })
          .option('cluster-size', { type: 'string', describe: 'tracking granularity, a power of two from 4K to 64M (default 64K for a new journal)' })
          .option('durability', { choices: ['strict', 'ordered'] as const, default: 'strict' as const, describe: 'strict: bit fdatasync\'ed before the data write; ordered: bit written before the data, synced on fsync/periodically' })
          .option('mark-ahead', { type: 'string', default: '4M', describe: 'once a sequential write stream has covered 4 MiB, mark and commit this much ahead of it in the background (first touches rarely wait; up to this much per stream may be listed that was not written); 0 = mark exactly' })
          .option('read-only', { type: 'boolean', default: false, describe: 'serve the volume read-only' })
          .option('allow-other', { type: 'boolean', default: false, describe: 'let other users access the mount (needs user_allow_other in /etc/fuse.conf unless root)' })
          .option('reset-journal', { type: 'boolean', default: false, describe: 'start a new history: forget all recorded changes (the next backup must be full)' })
          .option('foreground', { alias: 'f', type: 'boolean', default: false, describe: 'stay attached; unmount on Ctrl-C' })
          .option('log-level', { choices: LOG_LEVELS, default: 'info' as const, describe: 'log verbosity' })
          .option('log-file', { type: 'string', describe: 'append JSON logs here (default: stderr in the foreground, a file under the runtime directory otherwise)' })
          .option('tracking-off', { type: 'boolean', default: false, hidden: true })
          .example('$0 mount disk.img /mnt/disk', 'track writes to disk.img; the journal is disk.img.trackfs')
          .example('$0 mount /dev/sdb /mnt/sdb --journal /var/lib/sdb.trackfs', 'track a block device'),
        async (args) => { await mountCommand(args as unknown as MountArgs); },
      )
      .command(
        ['unmount <mountpoint>', 'umount <mountpoint>'],
        'Flush and close the journal, unmount, and wait for the daemon to exit',
        (y) => y
          .positional('mountpoint', { type: 'string', demandOption: true })
          .option('lazy', { type: 'boolean', default: false, describe: 'detach even if the volume is open; later I/O on open descriptors fails' })
          .option('timeout', { type: 'string', default: '30', coerce: (v: unknown) => parseSeconds('--timeout', v), describe: 'seconds to wait for the daemon to exit' }),
        async (args) => { await unmountCommand(args.mountpoint!, args.lazy, args.timeout as number); },
      )
      .command(
        'status <target>',
        'Show the state of a mount (MOUNTPOINT) or of a journal file (JOURNAL)',
        (y) => y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
        async (args) => { exitCode = await statusCommand(args.target!, args.json); },
      )
      .command(
        'changes <target>',
        'List the changed byte ranges of a mount (MOUNTPOINT) or of a journal file (JOURNAL)',
        (y) => y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' })
          .option('since', { type: 'string', describe: 'only what changed after this checkpoint id (GENERATION:NUMBER); default: since the history began' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object with sorted, merged extents' })
          .example('$0 changes /mnt/disk --since 3f2a9c1e7d0b:4 --json', 'what a backup from checkpoint 4 must copy'),
        async (args) => { exitCode = await changesCommand(args.target!, args.since ?? null, args.json); },
      )
      .command(
        'checkpoint <target>',
        'End the current epoch of a mount (MOUNTPOINT) or of a journal file (JOURNAL) and print the checkpoint id',
        (y) => y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
          .example('id=$($0 checkpoint /mnt/disk)', 'later: trackfs changes /mnt/disk --since "$id"'),
        async (args) => { await checkpointCommand(args.target!, args.json); },
      )
      .command(
        'backup <source> <target>',
        'Copy what changed in SOURCE (a mountpoint, or an image with its journal) into TARGET (an image of the same size; created as a full copy if missing)',
        (y) => y
          .positional('source', { type: 'string', demandOption: true, describe: 'trackfs mountpoint, or image file / block device (offline)' })
          .positional('target', { type: 'string', demandOption: true, describe: 'backup image file or block device' })
          .option('checkpoint', { type: 'boolean', default: false, describe: 'take a checkpoint first and copy up to it; writes during the copy go to the next epoch' })
          .option('since', { type: 'string', describe: 'copy what changed after this checkpoint id (default: the one recorded in TARGET\'s sidecar)' })
          .option('full', { type: 'boolean', default: false, describe: 'copy the whole image, whatever TARGET holds' })
          .option('verify', { type: 'boolean', default: false, describe: 'read the copied ranges back from TARGET and compare SHA-256 checksums' })
          .option('journal', { type: 'string', describe: 'journal of an offline SOURCE image (default: SOURCE.trackfs)' })
          .option('sidecar', { type: 'string', describe: 'where TARGET\'s backup state is kept (default: TARGET.trackfs-backup)' })
          .option('progress', { type: 'boolean', default: true, describe: 'show a progress bar on a terminal (--no-progress to hide it)' })
          .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary' })
          .example('$0 backup /mnt/disk /backup/disk.img --checkpoint', 'first run: a full copy; later runs: only what changed')
          .example('$0 backup disk.img /backup/disk.img --checkpoint', 'the same, offline, from the image and disk.img.trackfs'),
        async (args) => {
          exitCode = await backupCommand({
            source: args.source!, target: args.target!, journal: args.journal, since: args.since, checkpoint: args.checkpoint,
            full: args.full, verify: args.verify, json: args.json, sidecar: args.sidecar, progress: args.progress,
          });
        },
      )
      .command(
        'eject <mountpoint>',
        'Drain I/O, commit and close the journal and the image, keep the mount but refuse I/O (so the volume underneath can go away)',
        (y) => y
          .positional('mountpoint', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
        async (args) => { await ejectCommand(args.mountpoint!, args.json); },
      )
      .command(
        'resume <mountpoint>',
        'Reopen the image and journal of an ejected mount, check they are the same, and serve again',
        (y) => y
          .positional('mountpoint', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
        async (args) => { await resumeCommand(args.mountpoint!, args.json); },
      )
      .command('__daemon', false, (y) => y, async () => {
        await daemonCommand();
      })
      .demandCommand(1, 'name a command: mount, unmount, status, changes, checkpoint, backup, eject or resume')
      .recommendCommands()
      .strict()
      .help()
      .alias('h', 'help')
      .version()
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((msg, err) => {
        // yargs re-throws a failed option check (coerce) as a YError: a usage error like its own.
        if (err && err.name !== 'YError') throw err;
        if (err) msg = err.message;
        throw new CliError(`${usageProblem(msg, argv)} (see trackfs --help)`, EXIT.usage);
      })
      .parseAsync();
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`trackfs: ${printable(e.message)}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`trackfs: ${printable(err?.message ?? String(e))}\n`);
    if (process.env['TRACKFS_DEBUG']) process.stderr.write(`${err?.stack}\n`);
    process.exitCode = EXIT.failure;
    return;
  }
  if (exitCode !== EXIT.ok) process.exitCode = exitCode;
}
