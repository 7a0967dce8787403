/** `trackfs map` (src/report/change-map.ts, map-svg.ts): geometry, counting from extents, rendering. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChangeMap, chooseCharset, mapGeometry, renderText, SHADES } from '../../src/report/change-map.js';
import { renderSvg, xmlText } from '../../src/report/map-svg.js';
import type { ChangesSummary, Extent } from '../../src/journal/changes.js';

const CS = 65536;
const TiB = 1024 ** 4;

function summary(imageSize: number, over: Partial<ChangesSummary> = {}): ChangesSummary {
  const total = Math.ceil(imageSize / CS);
  return {
    imageSize, clusterSize: CS, generation: 'abc', trusted: true, since: 'abc:0', latestCheckpoint: 'abc:1',
    changedClusters: 0, totalClusters: total, changedBytes: 0, ...over,
  };
}

describe('geometry', () => {
  test('cells are a power of two of clusters, as few as fit columns x rows', () => {
    const g = mapGeometry(16 * TiB, CS, 64);
    assert.equal(g.cellBytes, 8 * 1024 ** 3);
    assert.deepEqual({ cells: g.cells, columns: g.columns, rows: g.rows }, { cells: 2048, columns: 64, rows: 32 });
    const small = mapGeometry(8 * 1024 * 1024, CS, 64);
    assert.deepEqual({ per: small.clustersPerCell, cells: small.cells, rows: small.rows }, { per: 1, cells: 128, rows: 2 });
    const tiny = mapGeometry(3 * CS, CS, 64);
    assert.deepEqual({ cells: tiny.cells, columns: tiny.columns, rows: tiny.rows }, { cells: 3, columns: 3, rows: 1 });
  });
});

describe('counting', () => {
  test('each cell counts the clusters it shares with the extents; the last cell may be short', () => {
    const imageSize = 10 * CS + 100; // 11 clusters, the last partial
    const map = new ChangeMap(mapGeometry(imageSize, CS, 2, 2)); // 4 clusters a cell: 3 cells
    assert.equal(map.geometry.clustersPerCell, 4);
    map.add([{ offset: 3 * CS, length: 2 * CS }, { offset: 8 * CS, length: 2 * CS + 100 }]);
    assert.deepEqual([...map.changed], [1, 1, 3]);
    assert.deepEqual([0, 1, 2].map((c) => map.clustersIn(c)), [4, 4, 3]);
    assert.deepEqual([0, 1, 2].map((c) => map.level(c)), [1, 1, 4]);
    assert.equal(map.changedClusters(), 5);
  });

  test('property: cell counts add up to the clusters of the extents, each at most its cell', () => {
    const bitsArb = fc.array(fc.boolean(), { minLength: 1, maxLength: 300 });
    fc.assert(fc.property(bitsArb, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), (bits, cols, rows) => {
      const extents: Extent[] = [];
      bits.forEach((b, i) => {
        if (!b) return;
        const last = extents.at(-1);
        if (last && last.offset + last.length === i * CS) last.length += CS;
        else extents.push({ offset: i * CS, length: CS });
      });
      const map = new ChangeMap(mapGeometry(bits.length * CS, CS, cols, rows));
      map.add(extents);
      assert.equal(map.changedClusters(), bits.filter(Boolean).length);
      for (let c = 0; c < map.geometry.cells; c++) {
        const k = map.geometry.clustersPerCell;
        assert.equal(map.changed[c], bits.slice(c * k, c * k + k).filter(Boolean).length, `cell ${c}`);
      }
      // Counted from a bitmap (a journal file), the same map.
      const counted = new ChangeMap(map.geometry);
      counted.addCounts((first, count) => bits.slice(first, first + count).filter(Boolean).length);
      assert.deepEqual(counted.changed, map.changed);
    }), { numRuns: 300 });
  });
});

describe('rendering', () => {
  test('ASCII unless a UTF-8 terminal without NO_COLOR', () => {
    assert.equal(chooseCharset(true, { LANG: 'en_US.UTF-8' }), 'unicode');
    assert.equal(chooseCharset(true, { LC_ALL: 'C.utf8', LANG: 'C' }), 'unicode');
    assert.equal(chooseCharset(false, { LANG: 'en_US.UTF-8' }), 'ascii');
    assert.equal(chooseCharset(true, { LANG: 'en_US.UTF-8', NO_COLOR: '1' }), 'ascii');
    assert.equal(chooseCharset(true, { LANG: 'en_US.UTF-8', NO_COLOR: '' }), 'unicode', 'NO_COLOR set but empty does not count');
    assert.equal(chooseCharset(true, { LANG: 'C' }), 'ascii');
    assert.equal(chooseCharset(true, {}), 'ascii');
  });

  test('rows start with their offset; a legend and a totals line follow', () => {
    const imageSize = 8 * CS;
    const map = new ChangeMap(mapGeometry(imageSize, CS, 4, 8));
    map.add([{ offset: CS, length: CS }, { offset: 6 * CS, length: 2 * CS }]);
    const text = renderText(map, summary(imageSize), 'ascii');
    const lines = text.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['   0 |.#..|', '256K |..##|']);
    assert.match(lines[2]!, /^\. no change {2}- up to 25% .* # over 75% of a cell's clusters changed; a cell is 64 KiB \(1 cluster\(s\) of 64K\)$/);
    assert.equal(lines[3], '3 of 8 clusters changed (37.50%), 192 KiB of 512 KiB, since checkpoint abc:0; trusted');
    const unicode = renderText(map, summary(imageSize, { until: 'abc:1' }), 'unicode');
    assert.ok(unicode.startsWith(`   0 │${SHADES.unicode[0]}${SHADES.unicode[4]}`));
    assert.match(unicode, /since checkpoint abc:0 until abc:1; trusted/);
  });

  test('an untrusted list says so; text from the journal is escaped', () => {
    const map = new ChangeMap(mapGeometry(4 * CS, CS, 4));
    map.add([{ offset: 0, length: 4 * CS }]);
    const text = renderText(map, summary(4 * CS, { trusted: false, reason: 'bad\u001b[2J' }), 'ascii');
    assert.match(text, /UNTRUSTED: bad\\x1b\[2J/);
  });

  test('SVG: one rect per run of a shade in a row, text escaped', () => {
    const map = new ChangeMap(mapGeometry(8 * CS, CS, 8));
    map.add([{ offset: 2 * CS, length: 3 * CS }]);
    const svg = renderSvg(map, summary(8 * CS), 'map of <a & "b">');
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.includes('map of &lt;a &amp; &quot;b&quot;&gt;'));
    // Row 0: no change, 3 changed, no change: 3 runs, plus 5 legend swatches, the frame and the background.
    const cellRects = [...svg.matchAll(/<rect x="\d+" y="44" width="(\d+)" height="12" fill="#/g)].map((m) => Number(m[1]));
    assert.deepEqual(cellRects, [24, 36, 36]);
    assert.equal(xmlText('a\u0007b<'), 'ab&lt;');
  });
});
