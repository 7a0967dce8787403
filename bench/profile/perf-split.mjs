#!/usr/bin/env node
// Splits `perf script -F tid,ip,sym` output of a trackfs daemon into where the CPU goes, per thread
// class and, on the main (JS) thread, per stage of a request. Usage:
//   perf script -i perf.data -F tid,ip,sym | node perf-split.mjs THREADS_FILE
// THREADS_FILE: lines "TID CLASS" (from threads.sh). Samples are counted, not timed: the shares
// are what matters; the caller scales them by the measured CPU time per operation.
import { readFileSync } from 'node:fs';

const classes = new Map(readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' ')));
const text = readFileSync(0, 'utf8');

// Main-thread stages, first match wins (the stack is searched from the root down).
const STAGES = [
  ['gc (V8 garbage collection)', /Scavenge|MarkCompact|Heap::CollectGarbage|Heap::PerformGarbageCollection|IncrementalMarking|MinorMC/],
  ['reply to libfuse (nextTick -> fuse_native_signal -> uv_sem_post)', /processTicksAndRejections|fuse_native_signal/],
  ['image/journal I/O completions (uv__work_done -> JS callbacks)', /uv__work_done/],
  ['op dispatch: uv_async -> fuse-native -> trackfs handler', /uv__async_io/],
  ['timers (fuse-native per-op timeout, ordered autosync)', /uv__run_timers/],
  ['event loop: epoll_wait and eventfd reads (uv_async wakeups)', /uv__io_poll|epoll/],
];
// Within a stage, what the leaf is doing.
const LEAF = [
  ['kernel: wake another thread (futex/eventfd)', /try_to_wake_up|futex_wake|wake_up_q|eventfd_write|__wake_up/],
  ['kernel: other syscall work', /^\[k\]|_raw_spin|do_syscall|entry_SYSCALL/],
  ['JIT/JS', /^JS:|Builtins_|LazyCompile|Interpreter/],
  ['V8/Node C++ runtime (napi, Buffer, handles)', /v8::|node::|napi_|v8impl/],
  ['libc (malloc, memcpy, locks)', /malloc|free|memmove|memcpy|pthread|sem_|_int_|strlen/],
];

const threadTotals = new Map();
const stageTotals = new Map();
const leafTotals = new Map();
const symTotals = new Map();
// Inclusive counts of chosen frames on the main thread (a frame counted once per sample).
const MARKERS = [
  ['napi_create_external_buffer (the op buffer as a JS Buffer)', /napi_create_external_buffer/],
  ['napi_detach_arraybuffer', /napi_detach_arraybuffer/],
  ['fuse-native JS handler (index.js)', /fuse-native\/index\.js/],
  ['trackfs adapter (fuse/adapter.js)', /fuse\/adapter\.js/],
  ['trackfs volume (volume/volume.js)', /volume\/volume\.js/],
  ['trackfs journal/tracker', /journal\/|tracker\//],
  ['fs.read/fs.write submit (uv_fs_* -> uv__work_submit)', /uv__work_submit/],
  ['setTimeout/clearTimeout (fuse-native per-op timeout)', /JS:\*?(setTimeout|clearTimeout|insert|unenroll)/],
  ['Buffer.allocUnsafe + copy', /allocUnsafe|Buffer::Copy|copyImpl|_copyActual|TypedArrayPrototypeSet|memmove/],
];
const markerTotals = new Map();
let mainTotal = 0;
for (const block of text.split('\n\n')) {
  const lines = block.trim().split('\n');
  if (lines.length === 0 || !lines[0]) continue;
  const tid = lines[0].trim().split(/\s+/)[0];
  const cls = classes.get(tid) ?? 'exited/unknown';
  threadTotals.set(cls, (threadTotals.get(cls) ?? 0) + 1);
  if (cls !== 'main') continue;
  mainTotal++;
  const frames = lines.slice(1).map((l) => {
    const m = /^\s*([0-9a-f]+)\s+(.*)$/.exec(l);
    if (!m) return '';
    const kernel = m[1].startsWith('ffffffff');
    return kernel ? `[k] ${m[2]}` : m[2];
  }).filter(Boolean);
  const rootFirst = [...frames].reverse().join('\n');
  const stage = STAGES.find(([, re]) => re.test(rootFirst))?.[0] ?? 'other';
  stageTotals.set(stage, (stageTotals.get(stage) ?? 0) + 1);
  // Leaf classification: the innermost frame that says something.
  let leaf = 'other';
  for (const f of frames) {
    const hit = LEAF.find(([, re]) => re.test(f));
    if (hit) { leaf = hit[0]; break; }
  }
  // Wakeups are recognised anywhere in the kernel part of the stack.
  if (frames.some((f) => f.startsWith('[k]') && LEAF[0][1].test(f))) leaf = LEAF[0][0];
  const sym = `${stage}\u0000${frames[0] ?? '?'}`;
  symTotals.set(sym, (symTotals.get(sym) ?? 0) + 1);
  for (const [name, re] of MARKERS) if (frames.some((f) => re.test(f))) markerTotals.set(name, (markerTotals.get(name) ?? 0) + 1);
  const key = `${stage}\u0000${leaf}`;
  leafTotals.set(key, (leafTotals.get(key) ?? 0) + 1);
}
const all = [...threadTotals.values()].reduce((a, b) => a + b, 0);
const pct = (n, d) => `${((100 * n) / d).toFixed(1).padStart(5)} %`;
console.log(`samples: ${all}`);
for (const [c, n] of [...threadTotals].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(n, all)}  ${c}`);
console.log(`main thread by stage (${mainTotal} samples):`);
for (const [s, n] of [...stageTotals].sort((a, b) => b[1] - a[1])) {
  console.log(`  ${pct(n, mainTotal)}  ${s}`);
  for (const [k, m] of [...leafTotals].filter(([k]) => k.startsWith(`${s}\u0000`)).sort((a, b) => b[1] - a[1])) {
    console.log(`      ${pct(m, mainTotal)}  ${k.split('\u0000')[1]}`);
  }
  if (process.env.TOP) {
    const top = [...symTotals].filter(([k]) => k.startsWith(`${s}\u0000`)).sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP));
    for (const [k, m] of top) {
      console.log(`          ${pct(m, mainTotal)}  leaf ${k.split('\u0000')[1]}`);
    }
  }
}
console.log('main thread, inclusive (a sample counts for every marker on its stack):');
for (const [name] of MARKERS) console.log(`  ${pct(markerTotals.get(name) ?? 0, mainTotal)}  ${name}`);
