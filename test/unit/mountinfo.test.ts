/**
 * The mount table parser (src/util/mountinfo.ts), on lines as the kernel writes them in
 * /proc/self/mountinfo (proc(5)):
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 *
 * (7) is zero or more optional fields, (8) the separator. The kernel escapes space, tab, newline
 * and backslash in paths and names as \040, \011, \012 and \134.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMountinfo, type MountEntry } from '../../src/util/mountinfo.js';

/** How the kernel writes a path or a name into mountinfo (fs/proc_namespace.c, mangle()). */
function mangle(s: string): string {
  return s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function line(e: MountEntry, optional = 'shared:1'): string {
  const fields = ['36', '35', e.majorMinor, '/', mangle(e.mountPoint), 'rw,relatime', ...(optional ? [optional] : [])];
  return `${fields.join(' ')} - ${mangle(e.fsType)} ${mangle(e.source)} rw`;
}

describe('parseMountinfo', () => {
  test('a plain line: mount point, file system type, source, device', () => {
    const text = '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n';
    assert.deepEqual(parseMountinfo(text), [{ majorMinor: '98:0', mountPoint: '/mnt2', fsType: 'ext3', source: '/dev/root' }]);
  });

  test('optional fields: none, one, or several, before the separator', () => {
    const lines = [
      '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
      '23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw',
      '24 22 0:5 / /dev rw,nosuid shared:2 master:1 propagate_from:3 unbindable - devtmpfs udev rw,size=4k',
    ];
    assert.deepEqual(parseMountinfo(lines.join('\n')), [
      { majorMinor: '8:1', mountPoint: '/', fsType: 'ext4', source: '/dev/sda1' },
      { majorMinor: '0:21', mountPoint: '/proc', fsType: 'proc', source: 'proc' },
      { majorMinor: '0:5', mountPoint: '/dev', fsType: 'devtmpfs', source: 'udev' },
    ]);
  });

  test('escapes: \\040 space, \\011 tab, \\012 newline, \\134 backslash, in the mount point and the source', () => {
    const text = '40 22 0:50 / /mnt/my\\040disk\\011a\\012b\\134c rw shared:3 - fuse.trackfs trackfs:a\\040b rw,user_id=0\n';
    const expected = { majorMinor: '0:50', mountPoint: '/mnt/my disk\ta\nb\\c', fsType: 'fuse.trackfs', source: 'trackfs:a b', userId: 0 };
    assert.deepEqual(parseMountinfo(text), [expected]);
  });

  test('an escaped backslash is not the start of another escape: \\134040 is a backslash, then "040"', () => {
    const [e] = parseMountinfo('40 22 0:50 / /mnt/a\\134040b rw - tmpfs none rw');
    assert.equal(e?.mountPoint, '/mnt/a\\040b');
  });

  test('a mount point that holds " - " (escaped) does not end the fields early', () => {
    const [e] = parseMountinfo('40 22 0:50 / /mnt/a\\040-\\040b rw shared:1 - tmpfs none rw');
    assert.deepEqual(e, { majorMinor: '0:50', mountPoint: '/mnt/a - b', fsType: 'tmpfs', source: 'none' });
  });

  test('the file system type is unescaped too (a FUSE subtype is the mounter\'s choice)', () => {
    const [e] = parseMountinfo('40 22 0:50 / /mnt/x rw - fuse.my\\040fs src rw');
    assert.equal(e?.fsType, 'fuse.my fs');
  });

  test('a FUSE mount\'s owner is its user_id super option; none without one', () => {
    const [a, b, c] = parseMountinfo([
      '40 22 0:50 / /mnt/x rw - fuse.trackfs trackfs rw,user_id=1001,group_id=1001,allow_other',
      '41 22 0:51 / /mnt/y rw - fuse.trackfs trackfs rw,group_id=0,user_id=0',
      '42 22 0:52 / /mnt/z rw - tmpfs none rw,xuser_id=5',
    ].join('\n'));
    assert.equal(a?.userId, 1001);
    assert.equal(b?.userId, 0);
    assert.equal(c?.userId, undefined);
  });

  test('malformed lines are skipped; the good ones around them are kept', () => {
    const good = '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw';
    const bad = [
      '',
      'garbage',
      '22 1 8:1 / / rw,relatime ext4 /dev/sda1 rw', // no separator
      '22 1 8:1 / - ext4 /dev/sda1 rw', // too few fields before it
      '22 1 8:1 / /x rw -', // nothing after it
      '22 1 8:1 / /x rw - ext4', // no source
    ];
    const parsed = parseMountinfo([bad[0], good, ...bad.slice(1), good, ''].join('\n'));
    assert.equal(parsed.length, 2);
    for (const e of parsed) assert.deepEqual(e, { majorMinor: '8:1', mountPoint: '/', fsType: 'ext4', source: '/dev/sda1' });
    assert.deepEqual(parseMountinfo(''), []);
  });

  test('property: what the kernel writes is read back, whatever the names hold', () => {
    const chars = fc.constantFrom('a', 'Z', '0', ' ', '\t', '\n', '\\', '-', ':', '.', 'é', '$', '(');
    const name = fc.string({ unit: chars, minLength: 1, maxLength: 12 });
    const entry = fc.record({
      majorMinor: fc.tuple(fc.nat(4095), fc.nat(1 << 20)).map(([a, b]) => `${a}:${b}`),
      mountPoint: name.map((n) => `/${n}`),
      fsType: name,
      source: name,
    }, { noNullPrototype: true });
    const optional = fc.constantFrom('', 'shared:1', 'shared:7 master:2', 'unbindable');
    fc.assert(fc.property(fc.array(fc.tuple(entry, optional), { maxLength: 6 }), (entries) => {
      const text = entries.map(([e, o]) => line(e, o)).join('\n');
      assert.deepEqual(parseMountinfo(text), entries.map(([e]) => e));
    }), { numRuns: 300 });
  });
});
