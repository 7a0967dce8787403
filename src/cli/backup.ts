/**
 * `trackfs backup SOURCE TARGET [--since ID] [--checkpoint] [--full] [--verify] [--json]`: the
 * command line around the backup engine (src/backup/run.ts): Ctrl-C, the progress bar, printing.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { checkIdSyntax } from './changes.js';
import { CliError, EXIT } from './errors.js';
import { openBackupSource } from '../backup/source.js';
import { BackupUsageError, runBackup } from '../backup/run.js';
import { formatSize } from '../util/size.js';
import { printable } from '../util/text.js';

export interface BackupArgs {
  source: string;
  target: string;
  journal?: string | undefined;
  since?: string | undefined;
  checkpoint: boolean;
  full: boolean;
  verify: boolean;
  json: boolean;
  sidecar?: string | undefined;
  progress: boolean;
}

export async function backupCommand(args: BackupArgs): Promise<number> {
  if (args.since) checkIdSyntax(args.since);
  // Ctrl-C at any point: say where TARGET stands. Installed first, so no moment is uncovered.
  let bar: cliProgress.SingleBar | null = null;
  let targetTouched = false;
  const onSigint = () => {
    bar?.stop();
    process.stderr.write(targetTouched
      ? `\ntrackfs: backup interrupted; ${args.target} is incomplete and its sidecar says so: the next run redoes it\n`
      : '\ntrackfs: backup interrupted before anything was copied\n');
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    const src = await openBackupSource(args.source, args.journal);
    const summary = await runBackup(src, args, {
      touched: () => { targetTouched = true; },
      copyStarted: (total) => { bar = args.progress && process.stderr.isTTY ? newProgressBar(total) : null; },
      copyProgress: (done) => bar?.update(done),
      copyEnded: () => bar?.stop(),
      say: (line) => { if (!args.json) process.stderr.write(`trackfs: ${line}\n`); },
      ...testHoldHook(),
    });
    if (args.json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    } else {
      const what = summary.full ? `full copy (${printable(summary.fullReason ?? '')})` : `incremental since ${summary.base}`;
      process.stdout.write(
        `${args.target}: ${what}; copied ${formatSize(summary.copiedBytes)} in ${summary.extents} extent(s), `
        + `${summary.copiedPercent}% of ${formatSize(summary.imageSize)}, in ${summary.seconds.toFixed(1)} s`
        + `${summary.verified !== null ? `; verified ${summary.verified} chunk(s)` : ''}; target is at checkpoint ${summary.targetAt}\n`,
      );
    }
    return EXIT.ok;
  } catch (e) {
    if (e instanceof BackupUsageError) throw new CliError(e.message, EXIT.usage);
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/**
 * Test hook (TRACKFS_TEST_HOOKS=1 and TRACKFS_TEST_HOLD_COPY=PATH only): once the first chunk is
 * copied, create PATH.waiting and wait until PATH exists, so a test can act in the middle of a copy
 * on any machine, however fast.
 */
function testHoldHook(): { afterFirstChunk?: () => Promise<void> } {
  const hold = process.env['TRACKFS_TEST_HOLD_COPY'];
  if (process.env['TRACKFS_TEST_HOOKS'] !== '1' || !hold) return {};
  return {
    afterFirstChunk: async () => {
      await writeFile(`${hold}.waiting`, '');
      while (!existsSync(hold)) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

function newProgressBar(total: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
    format: (options, params) => {
      const width = options.barsize ?? 30;
      const done = Math.round(params.progress * width);
      const elapsed = (Date.now() - params.startTime) / 1000;
      const rate = elapsed > 0 ? params.value / elapsed : 0;
      const eta = Number.isFinite(params.eta) && params.value > 0 ? `${params.eta}s` : '?';
      return `${'█'.repeat(done)}${'░'.repeat(width - done)} ${formatSize(params.value)} / ${formatSize(params.total)}  ${formatSize(rate)}/s  ETA ${eta}`;
    },
  });
  bar.start(total, 0);
  return bar;
}

