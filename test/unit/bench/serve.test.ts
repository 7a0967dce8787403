/** A server the benchmark spawns: a failed spawn is an error of the target, not a crash of the run. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer } from '../../../bench/serve.js';

describe('bench ChildServer', () => {
  test('a binary that is not there: waitMounted rejects with the spawn error, stop() still returns', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'trackfs-serve-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = new ChildServer(spawn(join(dir, 'no-such-server'), [], { stdio: 'ignore' }));
    await assert.rejects(server.waitMounted(join(dir, 'mnt')), /server failed: spawn .*no-such-server ENOENT/);
    await server.stop(join(dir, 'mnt'));
  });

  test('a server that exits before mounting: waitMounted says how it exited', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'trackfs-serve-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = new ChildServer(spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' }));
    await assert.rejects(server.waitMounted(join(dir, 'mnt')), /server exited with 3/);
    assert.equal(server.gone, 'server exited with 3');
    await server.stop(join(dir, 'mnt'));
  });
});
