/** latest.md and knobs.md from fixed reports: the exact tables, and every section where it belongs. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { cpuTable, renderKnobsMarkdown, renderMarkdown, resultsTable } from '../../../bench/report.js';
import type { KnobsReport } from '../../../bench/results.js';
import { fixedReport, fixedResults } from './fixture.js';

describe('bench report', () => {
  test('the results table: medians in their unit, then strict/direct, strict/off and strict/qsd', () => {
    assert.equal(resultsTable(fixedResults()), [
      '| job | direct | trackfs-strict | trackfs-off | qsd | strict/direct | strict/off | strict/qsd |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      '| seq write 1M buffered + fsync (rewrite), MB/s | 600 | 285 | 300 | 450 | 0.47 | 0.95 | 0.63 |',
      '| rand write 4K qd1 (first touch), IOPS | 128.0K | 992 | 7.3K | - | 0.01 | 0.14 | - |',
    ].join('\n'));
  });

  test('a ratio column is there only when both of its targets ran', () => {
    const results = fixedResults().map((r) => {
      const { qsd: _, ...targets } = r.targets;
      return { ...r, targets };
    });
    const header = resultsTable(results).split('\n')[0];
    assert.equal(header, '| job | direct | trackfs-strict | trackfs-off | strict/direct | strict/off |');
  });

  test('the CPU table: servers only, whole µs, "-" where not measured', () => {
    assert.equal(cpuTable(fixedResults()), [
      '| job | trackfs-strict | trackfs-off | qsd |',
      '|---|---:|---:|---:|',
      '| seq write 1M buffered + fsync (rewrite) | 1500 | 1450 | 480 |',
      '| rand write 4K qd1 (first touch) | 457 | 120 | - |',
    ].join('\n'));
  });

  test('latest.md: run line, spread, both tables, CPU and RSS lines, tracker cost, verdicts, notes', () => {
    const md = renderMarkdown(fixedReport());
    const lines = md.split('\n');
    assert.equal(lines[0], 'Benchmark 2026-12-01T12:00:00.000Z (42 s): 256 MiB image, 1 interleaved repetitions, medians;'
      + ' commit 0123456789; 2 CPUs, Linux 6.1.0, Node v20.0.0.');
    assert.equal(lines[1], 'Largest spread (max-min)/median of any cell: 10 %.');
    assert.ok(md.includes(`\n\n${resultsTable(fixedResults())}\n`));
    assert.ok(md.includes(`\n\n${cpuTable(fixedResults())}\n`));
    assert.ok(lines.includes('Median over the 4 KiB jobs: trackfs-strict 457, trackfs-off 120, qsd - µs per operation.'));
    assert.ok(lines.includes('Daemon RSS after the main session: trackfs-strict 100.5 MiB, trackfs-off 90 MiB, qsd 10.2 MiB.'));
    assert.ok(lines.includes('What tracking adds to a rewrite, in-process (bench/tracker-cost.ts, best of 5 × 1000 calls):'
      + ' 30 ns per random 4 KiB write, 60 ns per sequential 128 KiB write.'));
    assert.ok(lines.includes('- MISSED: strict >= qsd: seq write 1M buffered + fsync (rewrite) (0.63)'));
    assert.ok(!md.includes('16 TiB'), 'no scale line without a scale test');
    assert.ok(md.endsWith('\n- c-libfuse2 skipped: not here\n'));
  });

  test('latest.md: the scale line says quick mode and unclean unmounts when there were any', () => {
    const report = fixedReport();
    report.scale = {
      imageBytes: 17592184995840, mountMs: 900, rssAfterMountMiB: 66, writes: 50000, writeIops: 2234, fioSeconds: 20,
      rssAfterWritesMiB: 80, unmountMs: 1200, remountMs: 1000, rssAfterRemountMiB: 70, uncleanUnmounts: 'final unmount: timed out',
    };
    const md = renderMarkdown(report);
    assert.ok(md.includes('16 TiB sparse image (17592184995840 bytes, 64K clusters): fresh mount (strict) 900 ms, daemon RSS 66 MiB;'
      + ' after 50000 random 4K writes spread over the whole image (ordered mode, 4 writers, 2234 IOPS; quick mode: fewer than'
      + ' the 1 000 000 of a full run) RSS 80 MiB, unmount 1200 ms; strict remount of that journal 1000 ms, RSS 70 MiB.\n'));
    assert.ok(md.includes('\nUnmounts that left the journal active (not clean): final unmount: timed out.\n'));
  });

  test('knobs.md: each knob with its ratio to tracking off in brackets, labels as column heads', () => {
    const report: KnobsReport = {
      meta: { ...fixedReport().meta, notes: [] },
      variants: [{ name: 'strict-uv4', label: 'strict, UV_THREADPOOL_SIZE=4' }, { name: 'off', label: 'tracking off' }],
      results: [{
        id: 'rand-read-4jobs', job: 'rand read 4K 4 jobs', metric: 'IOPS',
        variants: {
          'strict-uv4': { median: 19000, spread: null, samples: [19000], cpuUsPerOp: 60, vsOff: 0.95 },
          off: { median: 20000, spread: null, samples: [20000], cpuUsPerOp: 58, vsOff: 1 },
        },
      }],
    };
    assert.equal(renderKnobsMarkdown(report), 'Knobs 2026-12-01T12:00:00.000Z (42 s): 256 MiB image, 1 interleaved repetitions, medians;'
      + ' in brackets: ratio to tracking off; commit 0123456789.\n\n'
      + '| job | strict, UV_THREADPOOL_SIZE=4 | tracking off |\n|---|---:|---:|\n'
      + '| rand read 4K 4 jobs, IOPS | 19.0K (0.95) | 20.0K |\n\n');
  });
});
