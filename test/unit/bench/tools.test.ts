/** Finding a program on PATH without a shell. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath } from '../../../bench/tools.js';

describe('bench onPath', () => {
  test('an executable file in a PATH directory counts; a plain file, a directory or a shell word does not', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'trackfs-onpath-'));
    const path = process.env['PATH'];
    t.after(() => { process.env['PATH'] = path; rmSync(dir, { recursive: true, force: true }); });
    writeFileSync(join(dir, 'runnable'), '#!/bin/sh\n');
    chmodSync(join(dir, 'runnable'), 0o700);
    writeFileSync(join(dir, 'plain'), '');
    mkdirSync(join(dir, 'adir'));
    process.env['PATH'] = `/nonexistent:${dir}`;
    assert.equal(onPath('runnable'), true);
    assert.equal(onPath('plain'), false);
    assert.equal(onPath('adir'), false);
    assert.equal(onPath('runnable; true'), false);
    assert.equal(onPath('cd'), false, 'a shell builtin is not a program');
  });
});
