/**
 * `trackfs eject MOUNTPOINT` (query-remove): drain I/O, commit and close the journal and the
 * image, keep the mount present but refuse I/O. `trackfs resume MOUNTPOINT` (cancel-remove):
 * reopen both, check they are the same, serve again.
 */
import { askMount, resolveTarget } from './target.js';
import { fail } from './errors.js';
import { printable } from '../util/text.js';

async function mountTarget(name: string) {
  const target = await resolveTarget(name);
  if (target.kind !== 'mount') fail(`${name} is a file; eject and resume take a trackfs mountpoint`);
  return target;
}

export async function ejectCommand(name: string, json: boolean): Promise<void> {
  const r = await askMount(await mountTarget(name), { op: 'eject' });
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else if (r.state !== 'ejected') fail(`eject of ${name} ended in state ${r.state}`);
  else process.stdout.write(`${name}: ejected; image and journal closed${r.journalClean ? ', journal clean' : ' (journal could not be closed clean)'}; I/O is refused until 'trackfs resume'\n`);
}

export async function resumeCommand(name: string, json: boolean): Promise<void> {
  const r = await askMount(await mountTarget(name), { op: 'resume' });
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`${name}: resumed${r.trusted ? '' : `; journal is UNTRUSTED: ${printable(r.reason ?? '')}`}\n`);
}
