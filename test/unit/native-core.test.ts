/**
 * Builds and runs the C tests of the native data path's core (native/test/fastpath-core-test.c):
 * serve/forward decisions, bitmap geometry, refusals while a call is in flight, the drain signal,
 * and workers racing a closing gate. Each of its checks is reported as a subtest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const cc = spawnSync('sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).stdout.trim();

test('native data path core (C)', { skip: process.platform !== 'linux' ? 'Linux only' : !cc ? 'no C compiler (cc)' : false, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-core-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'core-test');
  const build = spawnSync(cc, [
    '-std=gnu11', '-O2', '-Wall', '-Wextra', '-pthread', '-DFP_TEST_HOOKS', `-I${join(ROOT, 'native', 'src')}`,
    join(ROOT, 'native', 'test', 'fastpath-core-test.c'), join(ROOT, 'native', 'src', 'fastpath.c'), join(ROOT, 'native', 'src', 'retire-fd.c'), '-o', bin,
  ], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stderr}`);
  const run = spawnSync(bin, [dir], { encoding: 'utf8', timeout: 100_000 });
  const lines = run.stdout.split('\n').filter(Boolean);
  for (const line of lines) {
    if (line.startsWith('# ')) t.diagnostic(line.slice(2));
    const m = /^(ok|not ok) - (.*)$/.exec(line);
    if (m) await t.test(m[2]!.split(':')[0]!, () => assert.equal(m[1], 'ok', m[2]));
  }
  assert.equal(run.status, 0, `core test exited ${run.status ?? run.signal}\n${run.stderr}`);
  assert.ok(lines.includes('PASSED'));
});
