/**
 * The private directory rules (src/util/private-dir.ts). Files "of another user" are made by
 * chown to an unused uid, so these tests need root; they are skipped (and counted as skipped)
 * otherwise. test/cli/11-other-users.bats runs the same rules as real users.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lchownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOwnSocket, checkPrivateDir, createPrivateFile, ensurePrivateDir, openPrivateAppend, removeStale, writePrivateFile } from '../../src/util/private-dir.js';

const OTHER_UID = 54321;
const isRoot = process.geteuid?.() === 0;

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'trackfs-private-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function listen(t: TestContext, path: string): Promise<Server> {
  const server = createServer();
  t.after(() => server.close());
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

test('ensurePrivateDir creates a missing directory and its parents 0700, whatever the umask', (t) => {
  const base = scratch(t);
  const old = process.umask(0);
  t.after(() => process.umask(old));
  const dir = join(base, 'a', 'b', 'trackfs');
  assert.equal(ensurePrivateDir(dir), dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(base, 'a')).mode & 0o777, 0o700);
  // Idempotent, and the check alone agrees.
  assert.equal(ensurePrivateDir(dir), dir);
  assert.equal(checkPrivateDir(dir), 'ok');
  assert.equal(checkPrivateDir(join(base, 'absent')), 'missing');
});

test('ensurePrivateDir refuses a symlink, a file, a permissive mode, with the owner, the mode and what to do', (t) => {
  const base = scratch(t);
  const real = join(base, 'real');
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, join(base, 'link'));
  assert.throws(() => ensurePrivateDir(join(base, 'link')), /is a symbolic link, not a directory; remove it/);
  assert.throws(() => checkPrivateDir(join(base, 'link')), /symbolic link/);
  writeFileSync(join(base, 'file'), '');
  assert.throws(() => ensurePrivateDir(join(base, 'file')), /is not a directory/);
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o755);
  assert.throws(() => ensurePrivateDir(open), (e: Error) => e.message.includes('open to other users') && e.message.includes('mode 0755') && e.message.includes(`chmod 700 ${open}`) && !e.message.includes('\n'));
  assert.equal(statSync(open).mode & 0o777, 0o755, 'the mode was changed behind the user\'s back');
});

test('ensurePrivateDir refuses a directory of another user, and one under a directory others can write', { skip: !isRoot && 'needs root (chown)' }, (t) => {
  const base = scratch(t);
  const theirs = join(base, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, OTHER_UID, OTHER_UID);
  assert.throws(() => ensurePrivateDir(theirs), (e: Error) => e.message.includes('is not yours') && e.message.includes(`owner uid ${OTHER_UID}`) && e.message.includes('mode 0700'));

  const shared = join(base, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  assert.throws(() => ensurePrivateDir(join(shared, 'trackfs')), /another user can replace it/);
  const parentOfTheirs = join(base, 'p');
  mkdirSync(parentOfTheirs, { mode: 0o755 });
  chownSync(parentOfTheirs, OTHER_UID, OTHER_UID);
  assert.throws(() => ensurePrivateDir(join(parentOfTheirs, 'trackfs')), /owned by another user/);
  // A sticky world-writable directory (like /tmp) is fine: nobody else can rename our entry.
  const sticky = join(base, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  assert.equal(ensurePrivateDir(join(sticky, 'trackfs')), join(sticky, 'trackfs'));
});

test('createPrivateFile never follows a planted symlink, replaces a stale file of ours, refuses one of another user', { skip: !isRoot && 'needs root (chown)' }, (t) => {
  const dir = ensurePrivateDir(join(scratch(t), 'run'));
  const victim = join(dir, '..', 'victim');
  writeFileSync(victim, 'keep');
  const reg = join(dir, 'id.json');
  symlinkSync(victim, reg);
  assert.throws(() => writePrivateFile(reg, '{}'), /is in the way \(a symbolic link/);
  assert.equal(readFileSync(victim, 'utf8'), 'keep');
  assert.ok(lstatSync(reg).isSymbolicLink(), 'the symlink was removed: it is not ours to remove');

  const stale = join(dir, 'stale.json');
  writeFileSync(stale, 'old');
  chmodSync(stale, 0o644);
  writePrivateFile(stale, 'new');
  assert.equal(readFileSync(stale, 'utf8'), 'new');
  assert.equal(statSync(stale).mode & 0o777, 0o600);

  const theirs = join(dir, 'theirs.json');
  writeFileSync(theirs, 'theirs');
  chownSync(theirs, OTHER_UID, OTHER_UID);
  assert.throws(() => createPrivateFile(theirs), (e: Error) => e.message.includes(`owner uid ${OTHER_UID}`));
  assert.equal(readFileSync(theirs, 'utf8'), 'theirs');

  mkdirSync(join(dir, 'adir'));
  assert.throws(() => createPrivateFile(join(dir, 'adir')), /not a file/);
});

test('openPrivateAppend appends to our own log, refuses a symlink, a hard link and a file of another user', { skip: !isRoot && 'needs root (chown)' }, (t) => {
  const dir = ensurePrivateDir(join(scratch(t), 'run'));
  const log = join(dir, 'id.log');
  let fd = openPrivateAppend(log);
  writeSync(fd, 'one\n');
  closeSync(fd);
  assert.equal(statSync(log).mode & 0o777, 0o600);
  fd = openPrivateAppend(log);
  writeSync(fd, 'two\n');
  closeSync(fd);
  assert.equal(readFileSync(log, 'utf8'), 'one\ntwo\n');

  const victim = join(dir, '..', 'victim');
  writeFileSync(victim, 'keep');
  symlinkSync(victim, join(dir, 'link.log'));
  assert.throws(() => openPrivateAppend(join(dir, 'link.log')), /symbolic link/);
  linkSync(log, join(dir, 'hard.log'));
  assert.throws(() => openPrivateAppend(log), /2 links/);
  const theirs = join(dir, 'theirs.log');
  writeFileSync(theirs, '');
  chownSync(theirs, OTHER_UID, OTHER_UID);
  assert.throws(() => openPrivateAppend(theirs), (e: Error) => e.message.includes(`owner uid ${OTHER_UID}`));
  assert.equal(readFileSync(victim, 'utf8'), 'keep');
});

test('checkOwnSocket: our socket or root\'s is fine; another user\'s, a file or a symlink is refused', { skip: !isRoot && 'needs root (chown)' }, async (t) => {
  const dir = ensurePrivateDir(join(scratch(t), 'run'));
  const sock = join(dir, 'a.sock');
  assert.equal(checkOwnSocket(sock), 'missing');
  await listen(t, sock);
  assert.equal(checkOwnSocket(sock), 'ok');
  symlinkSync(sock, join(dir, 'link.sock'));
  assert.throws(() => checkOwnSocket(join(dir, 'link.sock')), /not a socket \(a symbolic link/);
  writeFileSync(join(dir, 'file.sock'), '');
  assert.throws(() => checkOwnSocket(join(dir, 'file.sock')), /not a socket/);
  const theirs = join(dir, 'theirs.sock');
  await listen(t, theirs);
  lchownSync(theirs, OTHER_UID, OTHER_UID);
  assert.throws(() => checkOwnSocket(theirs), (e: Error) => e.message.includes('belongs to another user') && e.message.includes(`owner uid ${OTHER_UID}`));
  // removeStale takes only a socket of ours.
  assert.throws(() => removeStale(theirs, 'socket'), /not a stale socket of yours/);
  assert.throws(() => removeStale(join(dir, 'file.sock'), 'socket'), /not a socket/);
  removeStale(sock, 'socket');
  assert.equal(checkOwnSocket(sock), 'missing');
});
