/**
 * The fio jobs, each in one of three sessions a target runs per repetition, each session on a fresh
 * image (so a fresh journal):
 *   main      sequential write (first touch, then rewrite), O_DIRECT rewrite, cold and hot reads,
 *             random 4K write/read at qd1 and with 4 jobs, 4K writes with fdatasync (rewrites);
 *   fresh-1   sequential O_DIRECT write on a fresh image (first touch);
 *   fresh-2   random 4K writes at qd1, one per 64 KiB cluster in random order (every write a first
 *             touch), replayed from a generated fio iolog (firstTouchLog).
 */

export type Session = 'main' | 'fresh-1' | 'fresh-2';

export const SESSIONS: Session[] = ['main', 'fresh-1', 'fresh-2'];

/** trackfs's default cluster size: the first-touch iolog writes one 4K per cluster. */
export const CLUSTER = 64 * 1024;

export type Metric = 'MB/s' | 'IOPS';

export interface Job {
  id: string;
  name: string;
  metric: Metric;
  session: Session;
  args: string[];
  /** first: every write reaches clusters no write touched before (fresh journal); rewrite: all marked already. */
  touch?: 'first' | 'rewrite';
  cold?: boolean;
  /** Random jobs run for a fixed time; sequential ones cover the file once. */
  timeBased?: boolean;
  /** Replays a generated iolog: one 4 KiB write per 64 KiB cluster, clusters in random order. */
  firstTouchLog?: boolean;
  /** Counts toward "CPU per 4 KiB operation". */
  small?: boolean;
}

const SEQ_WRITE = ['--rw=write', '--bs=1M'];
const RAND_4K_4JOBS = ['--bs=4k', '--numjobs=4', '--group_reporting'];

export const JOBS: Job[] = [
  {
    id: 'seq-write-first', name: 'seq write 1M buffered + fsync (first touch)', metric: 'MB/s', session: 'main', touch: 'first',
    args: [...SEQ_WRITE, '--end_fsync=1'],
  },
  {
    id: 'seq-write-rewrite', name: 'seq write 1M buffered + fsync (rewrite)', metric: 'MB/s', session: 'main', touch: 'rewrite',
    args: [...SEQ_WRITE, '--end_fsync=1'],
  },
  {
    id: 'seq-write-direct-rewrite', name: 'seq write 1M O_DIRECT (rewrite)', metric: 'MB/s', session: 'main', touch: 'rewrite',
    args: [...SEQ_WRITE, '--direct=1'],
  },
  { id: 'seq-read-cold', name: 'seq read 1M cold', metric: 'MB/s', session: 'main', cold: true, args: ['--rw=read', '--bs=1M'] },
  { id: 'seq-read-hot', name: 'seq read 1M hot', metric: 'MB/s', session: 'main', args: ['--rw=read', '--bs=1M'] },
  {
    id: 'rand-write-qd1-rewrite', name: 'rand write 4K qd1 (rewrite)', metric: 'IOPS', session: 'main', touch: 'rewrite',
    timeBased: true, small: true, args: ['--rw=randwrite', '--bs=4k'],
  },
  {
    id: 'rand-read-qd1', name: 'rand read 4K qd1', metric: 'IOPS', session: 'main',
    timeBased: true, small: true, args: ['--rw=randread', '--bs=4k'],
  },
  {
    id: 'rand-write-4jobs-rewrite', name: 'rand write 4K 4 jobs (rewrite)', metric: 'IOPS', session: 'main', touch: 'rewrite',
    timeBased: true, small: true, args: ['--rw=randwrite', ...RAND_4K_4JOBS],
  },
  {
    id: 'rand-read-4jobs', name: 'rand read 4K 4 jobs', metric: 'IOPS', session: 'main',
    timeBased: true, small: true, args: ['--rw=randread', ...RAND_4K_4JOBS],
  },
  {
    id: 'fdatasync-rewrite', name: '4K write + fdatasync (rewrite)', metric: 'IOPS', session: 'main', touch: 'rewrite',
    timeBased: true, small: true, args: ['--rw=randwrite', '--bs=4k', '--fdatasync=1'],
  },
  {
    id: 'seq-write-direct-first', name: 'seq write 1M O_DIRECT (first touch)', metric: 'MB/s', session: 'fresh-1', touch: 'first',
    args: [...SEQ_WRITE, '--direct=1'],
  },
  {
    id: 'rand-write-qd1-first', name: 'rand write 4K qd1 (first touch)', metric: 'IOPS', session: 'fresh-2', touch: 'first',
    firstTouchLog: true, small: true, args: [],
  },
];

/** The jobs `ids` names (all when null), in the order of JOBS. */
export function selectJobs(ids: string[] | null): Job[] {
  const jobs = JOBS.filter((j) => !ids || ids.includes(j.id));
  if (jobs.length === 0) throw new Error(`no job matches --jobs; ids: ${JOBS.map((j) => j.id).join(', ')}`);
  return jobs;
}

/**
 * fio iolog (version 2, replayed as fast as it goes) for an image of `bytes`: one 4 KiB write in
 * each whole cluster, clusters in a random order fixed by the seed, the 4 KiB block within each
 * cluster random too.
 */
export function firstTouchLog(bytes: number): string {
  const clusters = Math.floor(bytes / CLUSTER);
  const order = Array.from({ length: clusters }, (_, i) => i);
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; };
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const lines = ['fio version 2 iolog', 'vol add', 'vol open'];
  for (const c of order) lines.push(`vol write ${c * CLUSTER + Math.floor(rand() * (CLUSTER / 4096)) * 4096} 4096`);
  lines.push('vol close');
  return `${lines.join('\n')}\n`;
}

/** Bytes a job writes or reads when it covers the whole image once. */
export function fullCoverBytes(job: Job, imageBytes: number): number {
  return job.firstTouchLog ? Math.floor(imageBytes / CLUSTER) * 4096 : imageBytes;
}
