/** The chart: bars relative to the reference target, cut past the scale, labelled, escaped. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chartReference, comparisonChart, svgChart } from '../../../bench/chart.js';
import { fixedReport, fixedResults } from './fixture.js';

const bars = (svg: string) => [...svg.matchAll(/<rect x="300" y="\d+" width="([\d.]+)" height="12" fill="([^"]+)"\/>/g)]
  .map((m) => ({ width: Number(m[1]), fill: m[2] }));
const labels = (svg: string) => [...svg.matchAll(/paint-order="stroke">([^<]*)<\/text>/g)].map((m) => m[1]);

describe('bench chart', () => {
  test('the reference is qsd, else the C passthrough, else the first target', () => {
    assert.equal(chartReference(['direct', 'c-libfuse2', 'qsd']), 'qsd');
    assert.equal(chartReference(['direct', 'c-libfuse2']), 'c-libfuse2');
    assert.equal(chartReference(['trackfs-strict', 'direct']), 'trackfs-strict');
  });

  test('one bar per job and target, its length the ratio to qsd (600 px = 2.5x), labelled with ratio and value', () => {
    const { results, meta } = fixedReport();
    const svg = comparisonChart(results, meta, { direct: '#111111' });
    assert.match(svg, /throughput relative to qemu-storage-daemon \(higher is better\)/);
    assert.match(svg, /256 MiB image, medians of 1 interleaved repetitions, 2026-12-01; bar label: ratio \(absolute value\)/);
    const b = bars(svg);
    assert.equal(b.length, 8);
    assert.deepEqual(b.slice(0, 4).map((x) => x.width), [320, 152, 160, 240]); // 600/450, 285/450, 300/450, 1 of 2.5 × 600 px
    assert.equal(b[0]!.fill, '#111111', 'a given colour');
    assert.equal(b[1]!.fill, '#64b5f6', 'else the palette by position');
    assert.deepEqual(labels(svg).slice(0, 4), ['1.33  (600)', '0.63  (285)', '0.67  (300)', '1.00  (450)']);
    assert.deepEqual(labels(svg).slice(4), ['n/a', 'n/a', 'n/a', 'n/a'], 'qsd measured nothing for the second job');
  });

  test('a bar past 2.5x stops at the edge with a cut mark', () => {
    const results = fixedResults().slice(0, 1);
    results[0]!.targets['direct']!.median = 1800; // 4x qsd
    const svg = comparisonChart(results, fixedReport().meta, {});
    assert.equal(bars(svg)[0]!.width, 600);
    assert.equal((svg.match(/<path d="M892,/g) ?? []).length, 1);
  });

  test('text is escaped', () => {
    const svg = svgChart({ title: 'a < b & c', subtitle: '', results: [], targets: ['x>y'], ref: 'x>y', colors: {} });
    assert.ok(svg.includes('a &lt; b &amp; c'));
    assert.ok(svg.includes('x&gt;y (= 1.0)'));
    assert.ok(!svg.includes('x>y'));
  });
});
