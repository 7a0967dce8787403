/**
 * `trackfs map MOUNTPOINT|JOURNAL [--since ID] [--until ID] [--width N] [--svg FILE] [--png FILE]`:
 * a picture of where the changes are, drawn from the change stream (report/change-map.ts); the
 * image itself is never read.
 */
import { CliError, EXIT } from './errors.js';
import { listOptions, openList, stdoutSink, warnAboutList } from './changes.js';
import { ChangeMap, chooseCharset, mapGeometry, MAX_WIDTH, renderText } from '../report/change-map.js';
import { renderSvg } from '../report/map-svg.js';
import { svgToPng } from '../report/map-png.js';
import { checkOutputPath, writeOutputFile } from '../util/output-file.js';
import { sameFile } from '../util/same-file.js';
import { printable } from '../util/text.js';

export interface MapArgs {
  since?: string | undefined;
  until?: string | undefined;
  width?: string | undefined;
  svg?: string | undefined;
  png?: string | undefined;
}

/** Cells per row when none is asked for: what fits the terminal, 64 when the output is not one. */
function defaultWidth(): number {
  if (!process.stdout.isTTY) return 64;
  return Math.max(8, Math.min(128, (process.stdout.columns || 80) - 12));
}

function parseWidth(text: string | undefined): number {
  if (text === undefined) return defaultWidth();
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= MAX_WIDTH)) {
    throw new CliError(`bad --width '${printable(text)}': need a number of cells per row from 1 to ${MAX_WIDTH}`, EXIT.usage);
  }
  return n;
}

export async function mapCommand(name: string, args: MapArgs): Promise<number> {
  const opts = listOptions({ since: args.since, until: args.until, json: false });
  const width = parseWidth(args.width);
  if (args.svg !== undefined && args.png !== undefined && (await sameFile(args.svg, args.png))) {
    throw new CliError(`--svg and --png name the same file (${args.svg}): name two files`, EXIT.usage);
  }
  const opened = await openList(name, opts.since, opts.until);
  const wantsFile = args.svg !== undefined || args.png !== undefined;
  const checks = { notSameAs: wantsFile ? await opened.ownFiles() : [], notInside: opened.mountpoint };
  if (args.svg !== undefined) await checkOutputPath('--svg file', args.svg, checks);
  if (args.png !== undefined) await checkOutputPath('--png file', args.png, checks);
  const summary = opened.stream.summary;
  warnAboutList(summary);
  const map = new ChangeMap(mapGeometry(summary.imageSize, summary.clusterSize, width));
  // A journal file's bitmap is counted cell by cell: a million extents need not be listed first.
  const count = opened.stream.countClusters;
  if (count) map.addCounts(count);
  else for await (const batch of opened.stream.batches) map.add(batch);
  await stdoutSink(renderText(map, summary, chooseCharset(process.stdout.isTTY === true, process.env)));
  if (args.svg !== undefined || args.png !== undefined) {
    const title = `trackfs map of ${name}: changes since ${summary.since}${summary.until ? ` until ${summary.until}` : ''}`;
    const svg = renderSvg(map, summary, title);
    if (args.svg !== undefined) await writeOutputFile('--svg file', args.svg, svg);
    if (args.png !== undefined) await writeOutputFile('--png file', args.png, await svgToPng(svg));
  }
  return summary.baseUnavailable ? EXIT.baseUnavailable : EXIT.ok;
}
