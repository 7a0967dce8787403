/**
 * The command line: one declarative table of commands and options (yargs), validated before any
 * side effect. Every failure prints one line, `trackfs: <problem>`, and exits non-zero. Each
 * command's code is imported when it runs: a short command (`map` of a journal must draw a 16 TiB
 * one in under a second) does not pay for loading the daemon, FUSE and the backup engine.
 */
import yargs, { type Argv } from 'yargs';
import { CliError, EXIT } from './errors.js';
import type { MountArgs } from './mount.js';
import { CHANGES_FORMATS } from './report-formats.js';
import { selectCompletionShell } from './completion.js';
import { packageInfo } from '../util/package-info.js';
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

/** How a volume is mounted (mount, run). */
function mountFlags<T>(y: Argv<T>) {
  return y
    .option('journal', { type: 'string', describe: 'change journal file (default: IMAGE.trackfs; required for a block device)' })
    .option('cluster-size', {
      type: 'string', describe: 'tracking granularity, a power of two from 4K to 64M (default 64K for a new journal)',
    })
    .option('durability', {
      choices: ['strict', 'ordered'] as const, default: 'strict' as const,
      describe: 'strict: bit fdatasync\'ed before the data write; ordered: bit written before the data, synced on fsync/periodically',
    })
    .option('mark-ahead', {
      type: 'string', default: '4M',
      describe: 'once a sequential write stream has covered 4 MiB, mark and commit this much ahead of it in the background '
        + '(first touches rarely wait; up to this much per stream may be listed that was not written); 0 = mark exactly',
    })
    .option('read-only', { type: 'boolean', default: false, describe: 'serve the volume read-only' })
    .option('allow-other', {
      type: 'boolean', default: false, describe: 'let other users access the mount (needs user_allow_other in /etc/fuse.conf unless root)',
    })
    .option('reset-journal', {
      type: 'boolean', default: false, describe: 'start a new history: forget all recorded changes (the next backup must be full)',
    })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as const, describe: 'log verbosity' })
    .option('log-file', {
      type: 'string', describe: 'append JSON logs here (default: stderr in the foreground, a file under the runtime directory otherwise)',
    })
    .option('tracking-off', { type: 'boolean', default: false, hidden: true });
}

/** --since and --until, the range of checkpoints a change list covers (changes, map, run). */
function listFlags<T>(y: Argv<T>) {
  return y
    .option('since', {
      type: 'string', describe: 'only what changed after this checkpoint id (GENERATION:NUMBER); default: since the history began',
    })
    .option('until', { type: 'string', describe: 'only what changed up to this later checkpoint id of the same history' });
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
    argv = [...selectCompletionShell(argv)];
    // `run` takes COMMAND and its ARGS after `--`, verbatim: yargs never sees them.
    const dashes = argv[0] === 'run' ? argv.indexOf('--') : -1;
    const afterDashes = dashes >= 0 ? argv.slice(dashes + 1) : null;
    await yargs(dashes >= 0 ? argv.slice(0, dashes) : argv)
      // `-dash` is one unknown option, not -d -a -s -h (which would print help and exit 0).
      .parserConfiguration({ 'short-option-groups': false })
      .scriptName('trackfs')
      .usage('$0 <command> [options]\n\nTrack which clusters of a block image change, through a FUSE mount.')
      .command(
        'mount <image> <mountpoint>',
        'Mount IMAGE (a raw image file or a block device) at MOUNTPOINT as MOUNTPOINT/volume, tracking every write',
        (y) => mountFlags(y
          .positional('image', { type: 'string', demandOption: true, describe: 'raw image file or block device' })
          .positional('mountpoint', { type: 'string', demandOption: true, describe: 'empty directory' }))
          .option('foreground', { alias: 'f', type: 'boolean', default: false, describe: 'stay attached; unmount on Ctrl-C' })
          .example('$0 mount disk.img /mnt/disk', 'track writes to disk.img; the journal is disk.img.trackfs')
          .example('$0 mount /dev/sdb /mnt/sdb --journal /var/lib/sdb.trackfs', 'track a block device'),
        async (args) => {
          const { mountCommand } = await import('./mount.js');
          await mountCommand(args as unknown as MountArgs);
        },
      )
      .command(
        'run <image>',
        'Mount IMAGE on a private directory, run COMMAND on its volume, print what COMMAND changed, unmount',
        (y) => mountFlags(y
          .usage('$0 run IMAGE [options] [--json] -- COMMAND [ARGS...]')
          .positional('image', { type: 'string', demandOption: true, describe: 'raw image file or block device' }))
          .option('json', { type: 'boolean', default: false, describe: 'print the changes as `changes --json` does' })
          .example('$0 run disk.img -- mkfs.ext4 -q {}', '{} in ARGS is the volume; no shell is involved')
          .example('$0 run disk.img --json -- sh -c \'echo hi | dd of="$TRACKFS_VOLUME" conv=notrunc\'', 'a shell, if you want one'),
        async (args) => {
          const { runCommand } = await import('./run.js');
          const mount = args as unknown as MountArgs;
          exitCode = await runCommand({ mount, image: args.image!, json: args.json, command: afterDashes ?? [] });
        },
      )
      .command(
        ['unmount <mountpoint>', 'umount <mountpoint>'],
        'Flush and close the journal, unmount, and wait for the daemon to exit',
        (y) => y
          .positional('mountpoint', { type: 'string', demandOption: true })
          .option('lazy', { type: 'boolean', default: false, describe: 'detach even if the volume is open; later I/O on open descriptors fails' })
          .option('timeout', { type: 'string', default: '30', coerce: (v: unknown) => parseSeconds('--timeout', v), describe: 'seconds to wait for the daemon to exit' }),
        async (args) => {
          const { unmountCommand } = await import('./unmount.js');
          await unmountCommand(args.mountpoint!, args.lazy, args.timeout as number);
        },
      )
      .command(
        'status <target>',
        'Show the state of a mount (MOUNTPOINT) or of a journal file (JOURNAL)',
        (y) => y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
        async (args) => {
          const { statusCommand } = await import('./status.js');
          exitCode = await statusCommand(args.target!, args.json);
        },
      )
      .command(
        'changes <target>',
        'List the changed byte ranges of a mount (MOUNTPOINT) or of a journal file (JOURNAL)',
        (y) => listFlags(y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' }))
          .option('json', {
            type: 'boolean', default: false, describe: 'print one JSON object with sorted, merged extents (= --format json)',
          })
          .option('format', {
            choices: CHANGES_FORMATS,
            describe: 'table (default), json, bmap (for bmaptool copy --bmap; SHA-256 of each range, read from the volume or image), '
              + 'qemu-map (the JSON of qemu-img map --output=json)',
          })
          .option('granularity', {
            type: 'string', describe: 'report in units of SIZE (a multiple of the cluster size, e.g. 1M), merging ranges',
          })
          .option('files', {
            type: 'boolean', default: false,
            describe: 'name the files, directories and metadata of an ext2/3/4 file system the changes belong to (e2fsprogs)',
          })
          .example('$0 changes /mnt/disk --since 3f2a9c1e7d0b:4 --json', 'what a backup from checkpoint 4 must copy')
          .example('$0 changes disk.img.trackfs --since 3f2a9c1e7d0b:4 --files', 'which files of the ext4 file system changed')
          .example('$0 changes /mnt/disk --since 3f2a9c1e7d0b:4 --until 3f2a9c1e7d0b:5', 'what changed between checkpoints 4 and 5')
          .example('$0 changes /mnt/disk --format bmap > disk.bmap', 'then: bmaptool copy --bmap disk.bmap /mnt/disk/volume /dev/sdX'),
        async (args) => {
          const { changesCommand } = await import('./changes.js');
          exitCode = await changesCommand(args.target!, {
            since: args.since, until: args.until, json: args.json, format: args.format, granularity: args.granularity, files: args.files,
          });
        },
      )
      .command(
        'map <target>',
        'Draw where the changes of a mount (MOUNTPOINT) or of a journal file (JOURNAL) are: a grid of cells shaded by how much changed',
        (y) => listFlags(y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' }))
          .option('width', { type: 'string', describe: 'cells per row (default: what fits the terminal; 64 when not a terminal)' })
          .option('svg', { type: 'string', describe: 'also write the map as an SVG picture to FILE' })
          .option('png', { type: 'string', describe: 'also write the map as a PNG picture to FILE (needs rsvg-convert)' })
          .example('$0 map /mnt/disk', 'where on the disk the writes went')
          .example('$0 map disk.img.trackfs --since 3f2a9c1e7d0b:4 --svg changes.svg', 'a picture of what changed since checkpoint 4'),
        async (args) => {
          const { mapCommand } = await import('./map.js');
          exitCode = await mapCommand(args.target!, {
            since: args.since, until: args.until, width: args.width, svg: args.svg, png: args.png,
          });
        },
      )
      .command(
        'checkpoint <target>',
        'End the current epoch of a mount (MOUNTPOINT) or of a journal file (JOURNAL) and print the checkpoint id',
        (y) => y
          .positional('target', { type: 'string', demandOption: true, describe: 'mountpoint or journal file' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
          .example('id=$($0 checkpoint /mnt/disk)', 'later: trackfs changes /mnt/disk --since "$id"'),
        async (args) => {
          const { checkpointCommand } = await import('./checkpoint.js');
          await checkpointCommand(args.target!, args.json);
        },
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
          const { backupCommand } = await import('./backup.js');
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
        async (args) => {
          const { ejectCommand } = await import('./eject.js');
          await ejectCommand(args.mountpoint!, args.json);
        },
      )
      .command(
        'resume <mountpoint>',
        'Reopen the image and journal of an ejected mount, check they are the same, and serve again',
        (y) => y
          .positional('mountpoint', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
        async (args) => {
          const { resumeCommand } = await import('./eject.js');
          await resumeCommand(args.mountpoint!, args.json);
        },
      )
      .command(
        'install-mount-helper',
        'Install /sbin/mount.fuse.trackfs (root), so that mount -t fuse.trackfs and /etc/fstab lines work',
        (y) => y
          .option('remove', { type: 'boolean', default: false, describe: 'remove the helper this command installed' })
          .example('$0 install-mount-helper', 'then: mount -t fuse.trackfs disk.img /mnt/disk -o journal=/var/lib/disk.trackfs'),
        async (args) => {
          const { installMountHelperCommand } = await import('./install-mount-helper.js');
          await installMountHelperCommand(args.remove);
        },
      )
      .completion('completion', 'Print a completion script: trackfs completion [bash|zsh] >> ~/.bashrc (default: the shell in $SHELL)')
      .command('__daemon', false, (y) => y, async () => {
        const { daemonCommand } = await import('./mount.js');
        await daemonCommand();
      })
      .demandCommand(1, 'name a command: mount, run, unmount, status, changes, map, checkpoint, backup, eject or resume')
      .recommendCommands()
      .strict()
      .help()
      .alias('h', 'help')
      .version(packageInfo().version)
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
