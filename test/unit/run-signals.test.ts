/** `trackfs run`'s signal gate: which signals reach COMMAND, and that a signal is never lost for the run. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SignalGate, exitStatusOf } from '../../src/cli/run.js';

const ALL = ['SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTERM'] as const;

/** A gate with a stand-in COMMAND (pid 4242) that records what it was sent. */
function gateWith(inForeground: number | undefined): { gate: SignalGate; sent: string[]; asked: number[] } {
  const sent: string[] = [];
  const asked: number[] = [];
  const gate = new SignalGate((pid) => (asked.push(pid), inForeground));
  gate.child = { pid: 4242, kill: (sig) => (sent.push(sig), true) };
  return { gate, sent, asked };
}

describe('run: signals to COMMAND', () => {
  test('COMMAND in the terminal\'s foreground group: Ctrl-C, Ctrl-\\ and hangup are not sent again; SIGTERM is', () => {
    const { gate, sent, asked } = gateWith(1);
    try {
      for (const sig of ALL) gate.handle(sig);
      assert.deepEqual(sent, ['SIGTERM']);
      assert.ok(asked.length > 0 && asked.every((pid) => pid === 4242), 'asked about COMMAND\'s pid');
      assert.equal(gate.received, 'SIGINT', 'the first signal is still what ends the run');
    } finally {
      gate.close();
    }
  });

  test('COMMAND out of the foreground group, no terminal, or no addon: every signal is passed on', () => {
    for (const inForeground of [0, -6, -3, undefined]) {
      const { gate, sent } = gateWith(inForeground);
      try {
        for (const sig of ALL) gate.handle(sig);
        assert.deepEqual(sent, [...ALL], `inTerminalForeground ${inForeground}`);
      } finally {
        gate.close();
      }
    }
  });

  test('a signal before COMMAND starts is kept, so the run does not start it', () => {
    const { gate, sent } = gateWith(1);
    gate.child = null;
    try {
      gate.handle('SIGTERM');
      assert.equal(gate.received, 'SIGTERM');
      assert.deepEqual(sent, []);
    } finally {
      gate.close();
    }
  });

  test('exit status as a shell reports it', () => {
    assert.equal(exitStatusOf(3, null), 3);
    assert.equal(exitStatusOf(null, 'SIGINT'), 130);
    assert.equal(exitStatusOf(null, 'SIGTERM'), 143);
  });
});
