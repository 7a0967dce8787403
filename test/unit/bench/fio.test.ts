/** fio's command line per job, and the figure the report takes from its JSON output. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fioArgs, parseFioOutput } from '../../../bench/fio.js';
import { JOBS } from '../../../bench/jobs.js';

const job = (id: string) => JOBS.find((j) => j.id === id)!;
const setup = { sizeMiB: 256, runtime: 3, iolog: '/tmp/x/first-touch.iolog' };

function fioJson(read: object, write: object): string {
  const side = (s: object) => ({ bw_bytes: 0, iops: 0, total_ios: 0, io_bytes: 0, ...s });
  return `fio: warning before the JSON\n${JSON.stringify({ jobs: [{ read: side(read), write: side(write) }] })}`;
}

describe('bench fio', () => {
  test('a sequential job covers the image once, capped at 300 s', () => {
    assert.deepEqual(fioArgs('/m/volume', job('seq-write-first'), setup), [
      '--name=bench', '--filename=/m/volume', '--ioengine=psync', '--output-format=json',
      '--rw=write', '--bs=1M', '--end_fsync=1', '--size=256M', '--runtime=300',
    ]);
  });

  test('a random job runs for the set time', () => {
    const args = fioArgs('/m/volume', job('rand-read-qd1'), setup);
    assert.deepEqual(args.slice(4), ['--rw=randread', '--bs=4k', '--size=256M', '--time_based=1', '--runtime=3']);
  });

  test('the first-touch job replays the iolog onto the file', () => {
    const args = fioArgs('/m/volume', job('rand-write-qd1-first'), setup);
    assert.ok(args.includes('--read_iolog=/tmp/x/first-touch.iolog'));
    assert.ok(args.includes('--replay_redirect=/m/volume'));
    assert.ok(!args.some((a) => a.startsWith('--size=')));
  });

  test('MB/s from the write side of a write job, latency median in µs', () => {
    const write = { bw_bytes: 220_000_000, total_ios: 256, io_bytes: 256 << 20, clat_ns: { percentile: { '50.000000': 3_162_100 } } };
    const out = fioJson({ bw_bytes: 1 }, write);
    assert.deepEqual(parseFioOutput(out, job('seq-write-first')), { value: 220, ops: 256, bytes: 256 << 20, clat50us: 3162.1 });
  });

  test('IOPS from the read side of a read job; no percentile gives NaN latency', () => {
    const r = parseFioOutput(fioJson({ iops: 4600, total_ios: 13800, io_bytes: 1 }, { iops: 1 }), job('rand-read-qd1'));
    assert.equal(r.value, 4600);
    assert.equal(r.ops, 13800);
    assert.ok(Number.isNaN(r.clat50us));
  });
});
