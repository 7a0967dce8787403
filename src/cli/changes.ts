/**
 * `trackfs changes MOUNTPOINT|JOURNAL [--since ID] [--until ID] [--json | --format FORMAT]
 * [--granularity SIZE] [--files]`. The extents are printed as they arrive (a list of millions of
 * extents never sits in memory): --json writes the summary's fields, then `"extents":[` and each
 * batch, so the output is the one JSON object it always was. The other formats (report/) read the
 * same stream.
 */
import { once } from 'node:events';
import { isAbsolute, join } from 'node:path';
import { resolveTarget } from './target.js';
import { askMount, streamMount } from '../control/ask.js';
import { VOLUME_NAME } from '../fuse/adapter.js';
import { offlineChanges } from '../offline/journal-file.js';
import { checkRange, type ChangeStream, type ChangesSummary, type Extent } from '../journal/changes.js';
import { parseCheckpointId } from '../journal/checkpoint-id.js';
import { checkKind } from '../util/file-type.js';
import { ErrnoError } from '../util/errno.js';
import { formatSize, formatSizeShort, parseSize } from '../util/size.js';
import { printable } from '../util/text.js';
import { coarsen, Tally, type ExtentBatches, type Sink } from '../report/stream.js';
import { writeQemuMap } from '../report/qemu-map.js';
import { writeBmap } from '../report/bmap.js';
import { nameFiles, printFilesJson, printFilesTable } from './files.js';
import { CliError, EXIT } from './errors.js';
import { CHANGES_FORMATS, type ChangesFormat } from './report-formats.js';

const MAX_TABLE_ROWS = 200;


/** What to list and how, checked before anything is opened. */
export interface ListOptions {
  since: string | null;
  until: string | null;
  format: ChangesFormat;
  /** Bytes of the coarser unit asked for, or null (the journal's clusters). */
  granularity: number | null;
  /** Name the files, directories and metadata of an ext2/3/4 file system behind the changes. */
  files: boolean;
}

/** The output options as typed; every problem is a usage error (exit 2). */
export interface ListArgs {
  since?: string | undefined;
  until?: string | undefined;
  json: boolean;
  format?: string | undefined;
  granularity?: string | undefined;
  files?: boolean | undefined;
}

export function listOptions(args: ListArgs): ListOptions {
  const usage = (message: string): never => { throw new CliError(message, EXIT.usage); };
  if (args.since !== undefined) checkIdSyntax(args.since);
  if (args.until !== undefined) checkIdSyntax(args.until);
  if (args.since !== undefined && args.until !== undefined) {
    try {
      checkRange(parseCheckpointId(args.since), parseCheckpointId(args.until));
    } catch (e) {
      usage((e as Error).message);
    }
  }
  const format = (args.format ?? (args.json ? 'json' : 'table')) as ChangesFormat;
  if (!CHANGES_FORMATS.includes(format)) {
    usage(`unknown format '${printable(String(args.format))}': use one of ${CHANGES_FORMATS.join(', ')}`);
  }
  if (args.json && format !== 'json') usage(`--json and --format ${format} ask for two formats: use one`);
  let granularity: number | null = null;
  if (args.granularity !== undefined) {
    granularity = parseSize(args.granularity);
    if (!granularity) {
      usage(`bad --granularity '${printable(args.granularity)}': need a size such as 1M (a multiple of the journal's cluster size)`);
    }
  }
  if (args.files && format !== 'table' && format !== 'json') usage(`--files names files in the table or with --json, not in --format ${format}`);
  return { since: args.since ?? null, until: args.until ?? null, format, granularity, files: args.files === true };
}

/** A malformed id is a usage error, found before anything is opened. */
export function checkIdSyntax(id: string): void {
  try {
    parseCheckpointId(id);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage);
  }
}

/** A target's change list, and where the bytes it describes can be read. */
export interface OpenedList {
  stream: ChangeStream;
  /** The live volume (a mount) or the journal's image (offline); checked on first use. */
  dataPath(): Promise<string>;
  /** Read through a live mount: what a file system is writing may not be there yet. */
  live: boolean;
  /** The mountpoint of a live target, or null. */
  mountpoint: string | null;
  /** Files an output must not be (label, path): the volume, the image, the journal. */
  ownFiles(): Promise<Array<readonly [string, string]>>;
}

/** The change list of a mountpoint (streamed from its daemon) or of a journal file (offline). */
export async function openList(name: string, since: string | null, until: string | null): Promise<OpenedList> {
  const target = await resolveTarget(name);
  if (target.kind === 'journal') {
    const offline = await offlineChanges(target.path, since, until);
    return {
      stream: offline,
      dataPath: () => checkedImage(offline.imagePath, offline.summary.imageSize, target.path),
      live: false,
      mountpoint: null,
      ownFiles: async () => [['the journal', target.path], ...(offline.imagePath ? [['the image', offline.imagePath] as const] : [])],
    };
  }
  const { result, items } = await streamMount(target, { op: 'changes', since, until });
  // A daemon older than this CLI ignores `until` and would answer another question.
  if (until !== null && result.until === undefined) {
    throw new ErrnoError('ENOSYS',
      `the daemon of ${target.mountpoint} is older than this trackfs and cannot answer --until; remount to use it`);
  }
  const volume = join(target.mountpoint, VOLUME_NAME);
  return {
    stream: { summary: result, batches: items },
    dataPath: async () => volume,
    live: true,
    mountpoint: target.mountpoint,
    // Asked only when an output file is to be checked: a plain listing needs no second request.
    ownFiles: async () => {
      const s = await askMount(target, { op: 'status' });
      return [['the volume', volume], ['the image', s.image], ['the journal', s.journal]];
    },
  };
}

/** The image a journal names, if it is one trackfs can read as that journal's image. */
async function checkedImage(image: string, size: number, journal: string): Promise<string> {
  if (!image || !isAbsolute(image)) {
    throw new ErrnoError('EINVAL',
      `journal ${journal} names its image as '${printable(image)}', not an absolute path: mount it, or read the changes from the mount`);
  }
  const st = await checkKind('image', image, ['file', 'block']);
  if (!st) throw new ErrnoError('ENOENT', `the image of journal ${journal}, ${printable(image)}, does not exist`);
  if (st.isFile() && Number(st.size) !== size) {
    throw new ErrnoError('EINVAL',
      `the image of journal ${journal}, ${printable(image)}, has ${st.size} bytes, the journal tracks ${size}`);
  }
  return image;
}

/** The last line of the table: counts, bytes, and whether the list can be trusted. */
export function changesSummaryLine(r: ChangesSummary, extents: number, bytes: number = r.changedBytes): string {
  const pct = r.imageSize > 0 ? ((100 * bytes) / r.imageSize).toFixed(bytes === r.imageSize ? 0 : 2) : '0';
  const range = `since checkpoint ${r.since}${r.until ? ` until ${r.until}` : ''}`;
  const uncertain = r.uncertainClusters
    ? ` (${r.uncertainClusters} of them written again after ${r.until}: whether they changed before cannot be told)`
    : '';
  return `${extents} extent(s), ${formatSize(bytes)} of ${formatSize(r.imageSize)} (${pct}%) to copy; `
    + `${r.changedClusters} of ${r.totalClusters} clusters of ${formatSizeShort(r.clusterSize)} marked ${range}${uncertain}; `
    + `latest checkpoint ${r.latestCheckpoint}; `
    + (r.baseUnavailable ? `WHOLE IMAGE: ${printable(r.fullImage ?? '')}`
      : r.trusted ? 'trusted' : `UNTRUSTED: ${printable(r.reason ?? '')}`);
}

/** Writes to stdout, waiting when the pipe is full (the reader sets the pace). */
export async function stdoutSink(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/**
 * The summary's fields then the extents, as one JSON object. With a coarser unit the bytes are
 * known only at the end: `changedBytes` then comes last (still the bytes the extents cover).
 */
async function printJson(
  summary: ChangesSummary, batches: ExtentBatches, write: Sink, extra: { granularity: number | null },
): Promise<Tally> {
  const tally = new Tally();
  const head: Record<string, unknown> = { ...summary };
  if (extra.granularity !== null) {
    delete head['changedBytes'];
    head['granularity'] = extra.granularity;
  }
  await write(`${JSON.stringify(head).slice(0, -1)},"extents":[`);
  let n = 0;
  for await (const batch of tally.through(batches)) {
    if (batch.length === 0) continue;
    await write(`${n > 0 ? ',' : ''}${batch.map((e) => `{"offset":${e.offset},"length":${e.length}}`).join(',')}`);
    n += batch.length;
  }
  await write(extra.granularity !== null ? `],"changedBytes":${tally.bytes}` : ']');
  return tally;
}

async function printTable(summary: ChangesSummary, batches: ExtentBatches, write: Sink): Promise<Tally> {
  const tally = new Tally();
  const w = Math.max(6, String(summary.imageSize).length);
  const row = (e: Extent) => `${String(e.offset).padStart(w)}  ${String(e.length).padStart(w)}  ${formatSize(e.length)}\n`;
  let n = 0;
  for await (const batch of tally.through(batches)) {
    for (const e of batch) {
      if (n === 0) await write(`${'OFFSET'.padStart(w)}  ${'LENGTH'.padStart(w)}  SIZE\n`);
      if (n < MAX_TABLE_ROWS) await write(row(e));
      n++;
    }
  }
  if (tally.extents > MAX_TABLE_ROWS) await write(`... ${tally.extents - MAX_TABLE_ROWS} more extent(s); use --json for all\n`);
  await write(`${changesSummaryLine(summary, tally.extents, tally.bytes)}\n`);
  return tally;
}

/** Warnings about the list itself, one line each on stderr. */
export function warnAboutList(r: ChangesSummary): void {
  if (r.baseUnavailable) {
    process.stderr.write(`trackfs: ${printable(r.fullImage ?? '')}; listing the whole image (copy everything)\n`);
  } else if (!r.trusted) {
    process.stderr.write(`trackfs: warning: journal is untrusted (${printable(r.reason ?? '')}); extents cover the whole image\n`);
  }
}

/**
 * Prints an opened list in the format asked for; returns the exit code (3 when the base could not
 * be used: the whole image is listed; 4 when --files found no ext2/3/4 file system: the offsets
 * are printed all the same).
 */
export async function printList(opened: OpenedList, opts: ListOptions, write: Sink = stdoutSink): Promise<number> {
  const r = opened.stream.summary;
  if (opts.granularity !== null && opts.granularity % r.clusterSize !== 0) {
    const [unit, cluster] = [formatSizeShort(opts.granularity), formatSizeShort(r.clusterSize)];
    throw new CliError(`--granularity ${unit} is not a multiple of the journal's cluster size (${cluster})`, EXIT.usage);
  }
  warnAboutList(r);
  let batches: ExtentBatches = opened.stream.batches;
  if (opts.granularity !== null && opts.granularity > r.clusterSize) batches = coarsen(batches, opts.granularity, r.imageSize);
  const base = r.baseUnavailable ? EXIT.baseUnavailable : EXIT.ok;
  switch (opts.format) {
    case 'qemu-map':
      await writeQemuMap(batches, r.imageSize, write);
      return base;
    case 'bmap': {
      const range = `since checkpoint ${r.since}${r.until ? ` until ${r.until}` : ''}`;
      const describe = `changes of a trackfs journal ${range} (latest ${r.latestCheckpoint})`;
      const blockSize = opts.granularity ?? r.clusterSize;
      await writeBmap(batches, { imageSize: r.imageSize, blockSize, dataPath: await opened.dataPath(), describe }, write);
      return base;
    }
    case 'json': {
      if (!opts.files) {
        await printJson(r, batches, write, { granularity: opts.granularity });
        await write('}\n');
        return base;
      }
      const namer = await nameFiles(opened, r);
      await printJson(r, namer.watch(batches), write, { granularity: opts.granularity });
      const files = await namer.finish();
      await write(`,"files":${printFilesJson(files)}}\n`);
      return filesExit(files, base);
    }
    case 'table': {
      if (!opts.files) {
        await printTable(r, batches, write);
        return base;
      }
      const namer = await nameFiles(opened, r);
      await printTable(r, namer.watch(batches), write);
      const files = await namer.finish();
      await write(printFilesTable(files));
      return filesExit(files, base);
    }
  }
}

/** No ext file system: one line, exit 4 (the offsets were printed all the same). */
function filesExit(files: { filesystem: string | null; note?: string }, base: number): number {
  if (files.filesystem) return base;
  process.stderr.write(`trackfs: --files: ${files.note ?? 'no ext2/3/4 file system'}; only the offsets are listed\n`);
  return Math.max(base, EXIT.noFileSystem);
}

export async function changesCommand(name: string, args: ListArgs): Promise<number> {
  const opts = listOptions(args);
  const opened = await openList(name, opts.since, opts.until);
  return printList(opened, opts);
}
