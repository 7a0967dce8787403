#!/usr/bin/env node
// cpuprofile-top.mjs FILE.cpuprofile [N]: self time of a V8 CPU profile (node --cpu-prof), grouped
// by where the code lives (trackfs, fuse-native, Node internals, idle, native/program, GC), then the
// top N functions. Shares are of the profile's non-idle time.
import { readFileSync } from 'node:fs';

const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const topN = Number(process.argv[3] ?? 15);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const group = (cf) => {
  const u = cf.url ?? '';
  if (cf.functionName === '(idle)') return 'idle (epoll_wait)';
  if (cf.functionName === '(program)') return 'native, outside JS (libuv, N-API dispatch, syscalls)';
  if (cf.functionName === '(garbage collector)') return 'garbage collector';
  if (cf.functionName === 'writeBuffer' || (u === '' && cf.functionName === 'read')) {
    return 'fs.write/fs.read binding: submit to the libuv pool (wakes a pool thread)';
  }
  if (cf.functionName === 'processTicksAndRejections') {
    return 'nextTick queue: fuse-native replies (native signal wakes the libfuse thread)';
  }
  if (/timers/.test(u) || /timeoutWrap/.test(cf.functionName)) return 'timers (fuse-native per-op timeout)';
  if (/fuse-native/.test(u)) return 'fuse-native JS (index.js)';
  if (/dist\/src\/fuse\//.test(u)) return 'trackfs fuse adapter';
  if (/dist\/src\/volume\//.test(u)) return 'trackfs volume + image';
  if (/dist\/src\/(journal|tracker)\//.test(u)) return 'trackfs tracker + journal';
  if (/dist\/src\//.test(u)) return 'trackfs other';
  if (/^node:/.test(u)) return `Node ${u.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
  if (u === '') return `native builtin (${cf.functionName || 'anonymous'})`;
  return 'other JS';
};
const groups = new Map();
const fns = new Map();
let total = 0;
let idle = 0;
for (const [id, t] of self) {
  const cf = byId.get(id).callFrame;
  const g = group(cf);
  if (g.startsWith('idle')) { idle += t; continue; }
  total += t;
  groups.set(g, (groups.get(g) ?? 0) + t);
  const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(dist|node_modules)\//, '')}:${cf.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + t);
}
const span = prof.endTime - prof.startTime;
console.log(`profile ${(span / 1e6).toFixed(1)} s, busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s`);
let rest = 0;
for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1])) {
  if (t / total < 0.01) { rest += t; continue; }
  console.log(`  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${g}`);
}
console.log(`  ${((100 * rest) / total).toFixed(1).padStart(5)} %  everything under 1 % each (module loading at start-up, logging, ...)`);
console.log(`top ${topN} functions by self time:`);
for (const [f, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, topN)) {
  console.log(`  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${f}`);
}
