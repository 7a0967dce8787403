/** The command line of `npm run bench` (see bench.ts), parsed without touching the machine. */

export interface Options {
  quick: boolean;
  reps: number;
  targets: string[] | null;
  jobs: string[] | null;
  scale: boolean;
  knobs: boolean;
  /** Extra trackfs targets from other source trees: NAME=TREE[:mount args separated by commas]. */
  variants: string[];
  /** Only redraw latest.svg/png from this latest.json. */
  render: string | null;
  out: string;
  sizeMiB: number;
  runtime: number;
  scaleWrites: number;
}

const KNOWN = new Set(['--quick', '--reps', '--targets', '--jobs', '--no-scale', '--knobs', '--out', '--render', '--variant']);

/** `argv` without node and the script; `defaultOut` is where results go without --out. */
export function parseArgs(argv: string[], defaultOut: string): Options {
  for (const a of argv) if (a.startsWith('--') && !KNOWN.has(a)) throw new Error(`unknown option ${a}`);
  const quick = argv.includes('--quick');
  const get = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const reps = Number(get('--reps') ?? 2);
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer');
  return {
    quick,
    reps,
    targets: get('--targets')?.split(',') ?? null,
    jobs: get('--jobs')?.split(',') ?? null,
    scale: !argv.includes('--no-scale'),
    knobs: argv.includes('--knobs'),
    render: get('--render') ?? null,
    variants: argv.flatMap((a, i) => (a === '--variant' && argv[i + 1] ? [argv[i + 1]!] : [])),
    out: get('--out') ?? defaultOut,
    sizeMiB: quick ? 256 : 1024,
    runtime: quick ? 3 : 8,
    scaleWrites: quick ? 50_000 : 1_000_000,
  };
}

/** A --variant: the trackfs built in another source tree, mounted with `args`. */
export interface VariantSpec { name: string; tree: string; args: string[] }

/** Parses NAME=TREE[:arg,arg]; without args the variant is mounted strict. */
export function parseVariant(spec: string): VariantSpec {
  const m = /^([\w.-]+)=([^:]+)(?::(.*))?$/.exec(spec);
  if (!m) throw new Error(`--variant wants NAME=TREE[:arg,arg], got ${spec}`);
  return { name: m[1]!, tree: m[2]!, args: m[3] ? m[3].split(',') : ['--durability', 'strict'] };
}
