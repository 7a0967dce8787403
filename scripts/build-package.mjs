#!/usr/bin/env node
// Builds what the npm package runs, dist/src, with tsconfig.build.json (the tests and the benchmark
// are not shipped; `npm run build` builds them too). npm runs it as
//   prepack  `npm pack` and `npm publish`: dist/src is removed first, so a module deleted from src/
//            cannot ship stale;
//   prepare  `npm install` in a clone, and a git install (`npm install -g git+https://...`), where
//            npm installs the dev dependencies (TypeScript) first and runs only this script.
// `npm pack` runs prepack and then prepare: the second has nothing left to do and is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const event = process.env.npm_lifecycle_event;
const command = process.env.npm_command;

if (event === 'prepare' && (command === 'pack' || command === 'publish')) process.exit(0);

function findTsc() {
  try {
    return createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

let tsc = findTsc();
if (!tsc && process.env._PACOTE_NO_PREPARE_ !== undefined && process.env.npm_execpath) {
  // npm/cli#8440: `npm install -g git+URL` prepares the clone with an `npm install` that inherits
  // --global, so it installs none of the clone's dependencies. Install the dev ones here, into the
  // clone (npm ci: the versions of package-lock.json; no scripts: only the build needs them).
  console.error('trackfs: installing the build\'s dev dependencies into the git clone (npm/cli#8440)');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_config_(global|prefix|location)$/i.test(k)) delete env[k];
  const r = spawnSync(process.execPath, [process.env.npm_execpath, 'ci', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund',
    '--global=false', `--prefix=${root}`], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status === 0) tsc = findTsc();
}
if (!tsc) {
  console.error('trackfs: cannot build: TypeScript is not installed here (install the dev dependencies: npm install)');
  process.exit(1);
}
if (event === 'prepack' && existsSync(join(root, 'dist', 'src'))) rmSync(join(root, 'dist', 'src'), { recursive: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`trackfs: the TypeScript build failed (tsc exited ${r.status ?? r.signal})`);
  process.exit(1);
}
