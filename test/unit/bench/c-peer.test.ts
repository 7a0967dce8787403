/**
 * Building the C passthrough peer: argv, no shell (a path with blanks and shell syntax is one
 * argument), into a private temp dir that remove() takes away. Needs cc and libfuse-dev; skipped
 * (and counted as skipped) where they are missing, since the build would try to install them.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildPassthrough } from '../../../bench/c-peer.js';
import { ROOT } from '../../../bench/paths.js';
import { onPath } from '../../../bench/tools.js';

const missing = !existsSync('/usr/include/fuse/fuse.h') || !onPath('cc') || !onPath('pkg-config')
  ? 'needs cc, pkg-config and libfuse-dev' : false;

describe('bench C peer build', { skip: missing }, () => {
  test('compiles a source whose path a shell would split and expand; the binary is ours alone until removed', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'trackfs-cpeer-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const odd = join(dir, 'a b $(echo x) ;c');
    mkdirSync(odd);
    const source = join(odd, 'passthrough.c');
    copyFileSync(join(ROOT, 'bench', 'passthrough.c'), source);
    const built = await buildPassthrough(source);
    assert.ok(!('error' in built), 'error' in built ? built.error : '');
    const binDir = dirname(built.binary);
    assert.ok(statSync(built.binary).isFile());
    assert.ok(statSync(built.binary).mode & 0o100, 'executable');
    assert.equal(statSync(binDir).mode & 0o777, 0o700, 'a private temp dir');
    built.remove();
    assert.equal(existsSync(binDir), false);
  });

  test('a source that does not compile gives the compiler\'s first line and leaves no temp dir behind', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'trackfs-cpeer-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const built = await buildPassthrough(join(dir, 'missing.c'));
    assert.ok('error' in built);
    assert.match(built.error, /^cannot build .*missing\.c: /);
  });
});
