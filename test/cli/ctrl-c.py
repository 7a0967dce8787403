#!/usr/bin/env python3
"""Types Ctrl-C at a program as a user at a terminal does, then sends the program SIGTERM.

usage: ctrl-c.py [--child-away] READY LOG -- PROGRAM [ARGS...]

Starts PROGRAM as the foreground job of a new pseudo-terminal (its own session, the terminal its
controlling one). When the file READY exists (PROGRAM's child is set up), stops PROGRAM's process,
types Ctrl-C, waits until the file LOG has a line (the child has the terminal's SIGINT), lets
PROGRAM go on, then sends it SIGTERM. Stopping PROGRAM meanwhile makes any SIGINT it passes on
arrive after the child noted the terminal's, never merged with it. With --child-away the child
has left the terminal's foreground group, so only what PROGRAM passes on can reach it: PROGRAM is
not stopped, and the line in LOG is waited for after Ctrl-C alone. Prints PROGRAM's exit status
(128 + N for signal N) and exits 0; exits 2 (with one line) if anything takes over 60 s, after
killing PROGRAM's process group.
"""
import os
import pty
import select
import signal
import sys
import time

args = sys.argv[1:]
child_away = args[:1] == ['--child-away']
ready, log, sep, *program = args[1:] if child_away else args
if sep != '--' or not program:
    sys.exit(__doc__)

pid, master = pty.fork()
if pid == 0:
    os.execvp(program[0], program)

deadline = time.monotonic() + 60
status = None


def wait_for(what, done):
    while not done():
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            print(f'ctrl-c.py: timed out waiting for {what}', file=sys.stderr)
            sys.exit(2)
        # Read what PROGRAM writes to the terminal, so it never blocks on a full one.
        if select.select([master], [], [], 0.05)[0]:
            try:
                os.read(master, 65536)
            except OSError:
                pass


def logged():
    try:
        with open(log) as f:
            return f.read().strip() != ''
    except FileNotFoundError:
        return False


def ended():
    global status
    got, st = os.waitpid(pid, os.WNOHANG)
    if got:
        status = os.waitstatus_to_exitcode(st)
    return got != 0


wait_for(f'{ready} to exist', lambda: os.path.exists(ready))
if not child_away:
    os.kill(pid, signal.SIGSTOP)
os.write(master, b'\x03')
wait_for(f'a line in {log}', logged)
if not child_away:
    os.kill(pid, signal.SIGCONT)
os.kill(pid, signal.SIGTERM)
wait_for('the program to end', ended)
print(status if status >= 0 else 128 - status)
