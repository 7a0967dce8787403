#!/usr/bin/env node
// mount(8)'s helper for type fuse.trackfs (see src/cli/mount-helper.ts); `trackfs
// install-mount-helper` makes /sbin/mount.fuse.trackfs run this file.
const { loadOwn } = await import('./load.js');
const { mountHelperMain } = await loadOwn('../dist/src/cli/mount-helper.js');
await mountHelperMain(process.argv.slice(2));
