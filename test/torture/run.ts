/**
 * The torture suite's runner (`npm run torture`): runs the chosen kinds one after the other and
 * prints, per kind, the cases it checked, what failed (with the seed and case to replay it), and
 * its figures; exits 1 if any case failed, 2 on a usage error.
 *
 *   node dist/test/torture/run.js [--kinds a,b,...] [--seed N] [--minutes M] [--short] [--results FILE]
 *
 *   --kinds    crash-states, kill, io-errors, fuzz, soak, other-users (default: all)
 *   --seed     the run's seed (default: random, printed); the same seed replays the same cases
 *              of the in-process kinds (crash-states, the journal part of io-errors, fuzz) and the
 *              random moments of the kill kind
 *   --minutes  how long the soak runs (default 10)
 *   --cases    replay only these case numbers of a kind that numbers them (kill: the points)
 *   --short    the budgets of the short run that `npm test` makes (test/torture/short.test.ts)
 *   --results  where the JSON result file goes (default: torture-results.json in the current
 *              directory): the seed, the options and every kind's KindResult
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { KINDS, kindsNamed, prepareProcess } from './kinds.js';
import { messageOf, oneLine, type KindResult } from './lib/kind.js';

function usage(problem: string): never {
  const kinds = KINDS.map((k) => k.name).join(',');
  const options = `[--kinds ${kinds}] [--seed N] [--minutes M] [--short] [--cases N,M] [--results FILE]`;
  process.stderr.write(`torture: ${problem}\nusage: node dist/test/torture/run.js ${options}\n`);
  process.exit(2);
}

function print(r: KindResult): void {
  const status = r.skipped ? `SKIPPED (${r.skipped})` : r.failed === 0 ? 'ok' : `${r.failed} FAILED`;
  console.log(`\n== ${r.kind}: ${r.cases} ${r.unit}, ${status}, ${r.seconds} s`);
  for (const f of r.figures) console.log(`   ${f}`);
  for (const f of r.failures) console.log(`   FAIL ${f}`);
  if (r.failed > r.failures.length) console.log(`   ... and ${r.failed - r.failures.length} more`);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        kinds: { type: 'string' },
        seed: { type: 'string' },
        minutes: { type: 'string' },
        cases: { type: 'string' },
        short: { type: 'boolean', default: false },
        results: { type: 'string', default: 'torture-results.json' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    usage(messageOf(e));
  }
  if (args.help) usage('help');
  const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) usage(`--seed must be a non-negative integer, not ${args.seed}`);
  const minutes = args.minutes === undefined ? 10 : Number(args.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0) usage(`--minutes must be a number above 0, not ${args.minutes}`);
  const cases = args.cases === undefined ? undefined : args.cases.split(',').map(Number);
  if (cases && !cases.every((n) => Number.isSafeInteger(n) && n >= 0)) usage(`--cases takes case numbers (e.g. 43,91), not ${args.cases}`);
  let kinds;
  try {
    kinds = kindsNamed(args.kinds);
  } catch (e) {
    usage(messageOf(e));
  }
  const cleanup = await prepareProcess();
  console.log(`torture: seed ${seed}, kinds ${kinds.map((k) => k.name).join(', ')}${args.short ? ' (short)' : ''}, soak ${minutes} min`);
  const results: KindResult[] = [];
  try {
    for (const kind of kinds) {
      console.log(`\n-- ${kind.name}: ${kind.what}`);
      let r: KindResult;
      try {
        r = await kind.run({ seed, short: args.short, minutes, ...(cases ? { cases } : {}), log: (line) => console.log(`   ${line}`) });
      } catch (e) {
        const failure = `the kind itself failed: ${e instanceof Error ? e.stack : String(e)}`;
        r = { kind: kind.name, cases: 0, unit: 'cases', failures: [failure], failed: 1, figures: [], seconds: 0 };
      }
      results.push(r);
      print(r);
    }
  } finally {
    await cleanup();
  }
  console.log('\n== summary');
  for (const r of results) console.log(`   ${oneLine(r)}`);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.filter((r) => r.skipped).length;
  const outcome = failed === 0 ? 'ok' : `${failed} case(s) failed`;
  console.log(`torture: ${outcome}${skipped ? `, ${skipped} kind(s) skipped` : ''} (seed ${seed})`);
  const report = { seed, short: args.short, minutes, kinds: kinds.map((k) => k.name), failed, results };
  await writeFile(args.results, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
  console.log(`torture: results in ${args.results}`);
  process.exit(failed > 0 ? 1 : 0);
}

await main();
