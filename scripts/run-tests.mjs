#!/usr/bin/env node
// The test command (npm test): builds, checks that the golden journals are what
// scripts/make-golden.mjs makes, runs the node:test suites (unit, property, end-to-end) and the
// bats shell tests, then prints one closing line: "N passed, N failed[, N skipped]".
// Skipped tests are counted as skipped, never as passed. Pass suite names to run a subset (the
// golden check runs with unit too):
//   node scripts/run-tests.mjs lint golden unit e2e e2e-js cli package torture   (e2e-js: the
//   end-to-end suite again, on the JavaScript data path; package: scripts/check-package.sh, the npm
//   package packed, installed into a temporary prefix and used; torture: the short torture run,
//   test/torture/short.test.ts, one counted result per kind; the long one is `npm run torture`)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const wanted = new Set(process.argv.slice(2));
const want = (s) => wanted.size === 0 || wanted.has(s);
const totals = { passed: 0, failed: 0, skipped: 0 };
const problems = [];

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

console.log('== build');
const build = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
if (build.status !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

function testFiles(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true })
    .filter((f) => String(f).endsWith('.test.js'))
    .map((f) => join(dir, String(f)))
    .sort();
}

function nodeSuite(name, dir, extra = [], env = process.env) {
  const files = testFiles(dir);
  if (files.length === 0) {
    problems.push(`${name}: no test files in ${dir}`);
    totals.failed++;
    return;
  }
  console.log(`\n== ${name} (${files.length} files)`);
  const tmp = mkdtempSync(join(tmpdir(), 'trackfs-tap-'));
  const tap = join(tmp, 'out.tap');
  const r = run(process.execPath, [
    '--test', ...extra,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...files,
  ], { env });
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  rmSync(tmp, { recursive: true, force: true });
  const count = (label) => Number((text.match(new RegExp(`^# ${label} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const pass = count('pass');
  const fail = count('fail') + count('cancelled');
  const skip = count('skipped') + count('todo');
  totals.passed += pass;
  totals.failed += fail;
  totals.skipped += skip;
  if (r.status !== 0 && fail === 0) {
    problems.push(`${name}: runner exited ${r.status} with no failing test reported`);
    totals.failed++;
  }
  if (pass + fail + skip === 0) {
    problems.push(`${name}: no test ran`);
    totals.failed++;
  }
}

function batsSuite() {
  const dir = join(root, 'test/cli');
  if (!existsSync(dir)) return;
  const bats = spawnSync('bats', ['--version'], { encoding: 'utf8' });
  if (bats.status !== 0) {
    problems.push('cli: bats is not installed (apt-get install bats); shell tests not run');
    totals.failed++;
    return;
  }
  console.log('\n== cli (bats)');
  const r = spawnSync('bats', ['--tap', dir], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  for (const line of r.stdout.split('\n')) {
    if (/^ok \d+ .*# skip/.test(line)) totals.skipped++;
    else if (/^ok \d+/.test(line)) totals.passed++;
    else if (/^not ok \d+/.test(line)) totals.failed++;
  }
  if (r.status !== 0 && !/^not ok/m.test(r.stdout)) {
    problems.push(`cli: bats exited ${r.status} with no failing test reported`);
    totals.failed++;
  }
}

/**
 * A command that is one check, one count: passed on exit 0, skipped on `skipCode` (it cannot run
 * here), failed otherwise with `problem`.
 */
function singleCheck(title, cmd, args, problem, skipCode = null) {
  console.log(`\n== ${title}`);
  const r = run(cmd, args);
  if (r.status === 0) totals.passed++;
  else if (skipCode !== null && r.status === skipCode) totals.skipped++;
  else {
    problems.push(problem);
    totals.failed++;
  }
}

/** The committed golden journals are byte for byte what the script makes. */
const goldenCheck = () => singleCheck('golden journals (scripts/make-golden.mjs --check)',
  process.execPath, [join(root, 'scripts/make-golden.mjs'), '--check'],
  'golden: a committed golden journal differs from what scripts/make-golden.mjs makes (or is missing)');

/** The linter over the whole tree (eslint.config.js). */
const lint = () => singleCheck('lint (eslint)',
  process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.'],
  'lint: eslint reported problems (npx eslint . lists them)');

/** The package as npm packs it, installed globally into a temporary prefix and used (77: cannot run here). */
const packageCheck = () => singleCheck('package (scripts/check-package.sh)',
  'bash', [join(root, 'scripts/check-package.sh')],
  'package: the packed and installed trackfs failed scripts/check-package.sh (see its output above)', 77);

if (want('lint')) lint();
if (want('golden') || wanted.has('unit')) goldenCheck();
if (want('unit')) nodeSuite('unit and property tests', 'dist/test/unit');
// End-to-end suites mount for real: one file at a time keeps them from fighting over 2 cores.
// Every end-to-end test runs on both data paths: the native one (the default where the addon is
// built) and the JavaScript one (TRACKFS_DATA_PATH=javascript, what a machine without it gets).
if (want('e2e')) nodeSuite('end-to-end tests, default data path', 'dist/test/e2e', ['--test-concurrency=1']);
if (want('e2e-js')) nodeSuite('end-to-end tests, JavaScript data path', 'dist/test/e2e', ['--test-concurrency=1'], { ...process.env, TRACKFS_DATA_PATH: 'javascript' });
if (want('cli')) batsSuite();
if (want('package')) packageCheck();
if (want('torture')) nodeSuite('torture suite, short run', 'dist/test/torture', ['--test-concurrency=1']);

console.log('');
for (const p of problems) console.log(`problem: ${p}`);
const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exit(totals.failed > 0 ? 1 : 0);
