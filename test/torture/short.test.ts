/**
 * The short torture run inside `npm test` (scripts/run-tests.mjs, suite "torture"): every kind
 * with the short budgets, one test per kind, each failing if the kind found anything. The seed is
 * random unless TRACKFS_TORTURE_SEED is set; it is printed, so a failure can be replayed with
 * `npm run torture -- --kinds KIND --seed N --short`. The results also go to
 * dist/torture-short-results.json.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { KINDS, prepareProcess } from './kinds.js';
import { oneLine, type KindResult } from './lib/kind.js';

const RESULTS = fileURLToPath(new URL('../../torture-short-results.json', import.meta.url));
const fromEnv = process.env['TRACKFS_TORTURE_SEED'];
const seed = fromEnv === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fromEnv);
const results: KindResult[] = [];
let cleanup: () => Promise<void> = async () => undefined;

before(async () => {
  cleanup = await prepareProcess();
});

after(async () => {
  await cleanup();
  await writeFile(RESULTS, `${JSON.stringify({ seed, short: true, results }, null, 2)}\n`, { mode: 0o600 });
});

for (const kind of KINDS) {
  test(`torture ${kind.name} (short): ${kind.what}`, async (t) => {
    t.diagnostic(`seed ${seed}`);
    const r = await kind.run({ seed, short: true, minutes: 1, log: (line) => t.diagnostic(line) });
    results.push(r);
    t.diagnostic(oneLine(r));
    if (r.skipped) {
      t.skip(r.skipped);
      return;
    }
    assert.equal(r.failed, 0, `replay: npm run torture -- --kinds ${kind.name} --seed ${seed} --short\n${r.failures.join('\n')}`);
    assert.ok(r.cases > 0, 'the kind checked nothing');
  });
}
