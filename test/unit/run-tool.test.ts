/** runTool: stdin in, stdout out, and each way a helper program can fail as one line. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runTool } from '../../src/util/run-tool.js';

const base = { timeoutMs: 10_000, missing: 'needs the tool: install it' };

describe('runTool', () => {
  test('input goes to stdin, stdout comes back', async () => {
    assert.equal((await runTool('tr', ['a-z', 'A-Z'], { ...base, input: 'abc\n' })).toString(), 'ABC\n');
    assert.equal((await runTool('cat', [], base)).length, 0, 'stdin closed at once without input');
  });

  test('not installed: ENOENT with the message given', async () => {
    await assert.rejects(runTool('trackfs-no-such-tool', [], base), { code: 'ENOENT', message: 'needs the tool: install it' });
  });

  test('a non-zero exit: EIO, the exit status and the last line it said', async () => {
    await assert.rejects(runTool('sh', ['-c', 'echo first >&2; echo last >&2; exit 3'], base), { code: 'EIO', message: 'sh failed (exit 3): last' });
  });

  test('killed at its limit: said so', async () => {
    await assert.rejects(runTool('sleep', ['30'], { ...base, timeoutMs: 100 }), { code: 'EIO', message: 'sleep failed (killed after 0.1 s)' });
  });
});
