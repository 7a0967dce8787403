#!/usr/bin/env node
// Builds trackfs's optional N-API addon (native/) with node-gyp. trackfs works without it (see
// src/native/native.ts), so by default a failed build prints one line and exits 0: an `npm install`
// on a machine without a compiler still gives a working trackfs. `--required` (scripts/setup.sh,
// CI) makes a failed build an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const required = process.argv.includes('--required');

function nodeGyp() {
  // npm passes its own node-gyp to lifecycle scripts; otherwise use the one npm ships with.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

function give(reason) {
  const line = `trackfs: native addon not built (${reason}); trackfs will use its JavaScript paths`;
  if (required) {
    console.error(line);
    process.exit(1);
  }
  console.error(line);
  process.exit(0);
}

if (process.env.TRACKFS_SKIP_NATIVE_BUILD === '1') give('TRACKFS_SKIP_NATIVE_BUILD=1');
const gyp = nodeGyp();
if (!gyp) give('node-gyp not found');
const args = [gyp, 'rebuild', '--directory', join(root, 'native')];
// Node's own headers, where the installation has them: no download from nodejs.org.
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|not found|No such/i.test(l) && !/gyp ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l));
  give(lines[0]?.trim() || `node-gyp exited ${r.status}`);
}
console.error('trackfs: native addon built');
