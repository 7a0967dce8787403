#!/usr/bin/env node
// libuv reads UV_THREADPOOL_SIZE once, at the first threadpool use: set it before anything loads.
// Image I/O, journal I/O and fs calls from the CLI share the pool; 4 threads starve under FUSE load.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
const { loadOwn } = await import('./load.js');
const { main } = await loadOwn('../dist/src/cli/main.js');
await main(process.argv.slice(2));
