/**
 * What the benchmark measures: each target serves a fresh image as a file fio can run on. Adding a
 * target to the comparison is one entry in comparisonTargets() below (its name, colour, how it is
 * made ready and how it is started); the report, the chart and latest.json pick it up from there.
 *
 * Targets: fio straight on the image file ("direct"); trackfs strict (the native data path),
 * strict on the JavaScript path alone (trackfs-js), ordered, and with tracking off (a hidden
 * switch, so the cost of tracking itself shows); a C libfuse2 passthrough
 * (bench/passthrough.c); qemu-storage-daemon's FUSE export. A peer that cannot be installed is
 * skipped with a message.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPassthrough } from './c-peer.js';
import { onCleanup } from './cleanup.js';
import { ROOT, trackfsBin } from './paths.js';
import { ChildServer, forceStop, waitGone } from './serve.js';
import { ensureCommand } from './tools.js';
import { daemonPid, mountTrackfs, unmountTrackfs } from './trackfs-cli.js';
import type { VariantSpec } from './options.js';

/** A started target: the file fio runs on, the server's pid (null: no server), and how to stop it. */
export interface Served { file: string; pid: number | null; stop(): Promise<void> }

export interface Target {
  name: string;
  /** Longer name for the knobs table. */
  label?: string;
  /** Bar colour in the chart; a target without one takes one of the palette. */
  color?: string;
  /** Makes the target ready to start (installs or builds what it needs); resolves to why it cannot run here, or null. */
  prepare(): Promise<string | null>;
  /** Serves `image`; `dir` is this session's own temp dir. */
  start(image: string, dir: string): Promise<Served>;
}

export interface TrackfsSpec {
  name: string;
  /** `trackfs mount` options. */
  args: string[];
  env?: Record<string, string>;
  label?: string;
  color?: string;
  /** The source tree whose trackfs is mounted (another one for a --variant). */
  tree?: string;
}

/** trackfs from `tree`, mounted with `args`; its daemon is the server. */
export function trackfsTarget(spec: TrackfsSpec): Target {
  const tree = spec.tree ?? ROOT;
  const bin = trackfsBin(tree);
  return {
    name: spec.name,
    ...(spec.label ? { label: spec.label } : {}),
    ...(spec.color ? { color: spec.color } : {}),
    prepare: async () => (
      existsSync(join(tree, 'dist', 'src', 'cli', 'main.js'))
        ? null
        : `trackfs is not built in ${tree} (npx tsc -p .)`
    ),
    async start(image, dir) {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt, { recursive: true });
      const env = { ...process.env, ...spec.env, TRACKFS_RUNTIME_DIR: join(dir, 'run') };
      mountTrackfs(bin, image, mnt, spec.args, env);
      const pid = daemonPid(bin, mnt, env);
      const undo = onCleanup(() => forceStop(pid, mnt));
      return {
        file: join(mnt, 'volume'),
        pid,
        stop: async () => {
          const failed = unmountTrackfs(bin, mnt, env);
          if (failed !== null) {
            console.error(`bench: trackfs unmount of ${spec.name} failed (${failed}); retrying lazily`);
            unmountTrackfs(bin, mnt, env, true);
          }
          await waitGone(pid);
          forceStop(pid, mnt);
          undo();
        },
      };
    },
  };
}

/** A --variant: the trackfs of another source tree, as a target of its own. */
export function variantTarget(v: VariantSpec): Target {
  return trackfsTarget({ name: v.name, args: v.args, label: `${v.name} (${v.tree})`, tree: v.tree });
}

type Launch = (image: string, dir: string) => { server: ChildServer; file: string; mountpoint: string };

/** A server the benchmark spawns itself (a peer), mounted once its mountpoint shows in the mount table. */
function childTarget(name: string, color: string, prepare: () => Promise<string | null>, launch: Launch): Target {
  return {
    name,
    color,
    prepare,
    async start(image, dir) {
      const { server, file, mountpoint } = launch(image, dir);
      const undo = onCleanup(() => forceStop(server.pid, mountpoint));
      const stop = async () => { await server.stop(mountpoint); undo(); };
      try {
        await server.waitMounted(mountpoint);
      } catch (e) {
        await stop();
        throw e;
      }
      return { file, pid: server.pid, stop };
    },
  };
}

/** bench/passthrough.c, built when the target is made ready; the binary is removed at the end of the run. */
function cPassthroughTarget(): Target {
  let binary = '';
  return childTarget('c-libfuse2', '#ef6c00', async () => {
    const built = await buildPassthrough();
    if ('error' in built) return built.error;
    binary = built.binary;
    onCleanup(built.remove);
    return null;
  }, (image, dir) => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    const server = new ChildServer(spawn(binary, [image, mnt, '-f', '-o', 'big_writes,auto_unmount'], { stdio: 'ignore' }));
    return { server, file: join(mnt, 'volume'), mountpoint: mnt };
  });
}

/** A value inside a qemu option list (key=value,key=value): a comma in it is written twice. */
function qemuValue(s: string): string {
  return s.replace(/,/g, ',,');
}

function qsdTarget(): Target {
  return childTarget('qsd', '#c62828', async () => (
    ensureCommand('qemu-storage-daemon', ['qemu-system-common', 'libfuse3-3'])
      ? null
      : 'qemu-storage-daemon is not installed and apt-get could not install it (qemu-system-common, libfuse3-3)'
  ), (image, dir) => {
    const file = join(dir, 'export.img');
    writeFileSync(file, '');
    const server = new ChildServer(spawn('qemu-storage-daemon', [
      '--blockdev', `driver=file,node-name=file0,filename=${qemuValue(image)},cache.direct=off`,
      '--blockdev', 'driver=raw,node-name=raw0,file=file0',
      '--export', `type=fuse,id=exp0,node-name=raw0,mountpoint=${qemuValue(file)},writable=on`,
    ], { stdio: 'ignore' }));
    return { server, file, mountpoint: file };
  });
}

const directTarget: Target = {
  name: 'direct',
  color: '#9e9e9e',
  prepare: async () => null,
  async start(image) { return { file: image, pid: null, stop: async () => {} }; },
};

/** The targets of the comparison, in the order of its tables and chart. */
export function comparisonTargets(): Target[] {
  return [
    directTarget,
    // strict is the native data path where the addon is built; -js is the same mount served in
    // JavaScript alone, so the gain stays visible.
    trackfsTarget({ name: 'trackfs-strict', args: ['--durability', 'strict'], color: '#1565c0' }),
    trackfsTarget({ name: 'trackfs-js', args: ['--durability', 'strict'], env: { TRACKFS_DATA_PATH: 'javascript' }, color: '#90a4ae' }),
    trackfsTarget({ name: 'trackfs-ordered', args: ['--durability', 'ordered'], color: '#64b5f6' }),
    trackfsTarget({ name: 'trackfs-off', args: ['--tracking-off'], color: '#7e57c2' }),
    cPassthroughTarget(),
    qsdTarget(),
  ];
}

/** The chart colours of the targets that have one. */
export function colorsOf(targets: Target[]): Record<string, string> {
  return Object.fromEntries(targets.flatMap((t) => (t.color ? [[t.name, t.color]] : [])));
}

/** Prepares each target; the ones that cannot run are left out, each with a note saying why. */
export async function readyTargets(targets: Target[], notes: string[]): Promise<Target[]> {
  const ready: Target[] = [];
  for (const t of targets) {
    const why = await t.prepare();
    if (why) notes.push(`${t.name} skipped: ${why}`);
    else ready.push(t);
  }
  return ready;
}
