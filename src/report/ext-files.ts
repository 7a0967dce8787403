/**
 * `changes --files`: what the changed blocks of an ext2/3/4 file system belong to. The superblock
 * is read here (magic, block size, features); the rest comes from e2fsprogs, read-only: dumpe2fs
 * for the layout (superblocks and group descriptors, reserved GDT blocks, bitmaps, inode tables,
 * free blocks) and debugfs for who owns a block (icheck), its path (ncheck) and its type (stat).
 * The device path is absolute (never read as an option) and commands go to debugfs on stdin.
 */
import { open } from 'node:fs/promises';
import { runTool } from '../util/run-tool.js';

const SUPERBLOCK_OFFSET = 1024;
const EXT_MAGIC = 0xef53;
/** Inodes below this are the file system's own: their blocks are metadata of the kind named. */
const RESERVED_INODES: Record<number, string> = { 1: 'bad blocks', 5: 'boot loader', 7: 'reserved GDT blocks', 8: 'journal' };
const ROOT_INODE = 2;
/** Past this many changed blocks, naming them is not attempted (a whole-disk rewrite). */
export const MAX_BLOCKS = 2_000_000;
const BLOCKS_PER_COMMAND = 256;
const TOOL_TIMEOUT_MS = 300_000;

export interface ExtInfo {
  kind: 'ext2' | 'ext3' | 'ext4';
  blockSize: number;
  blocks: number;
}

/** The ext superblock at byte 1024 of `path`, or null when there is none. */
export async function readExtSuperblock(path: string): Promise<ExtInfo | null> {
  const h = await open(path, 'r');
  try {
    const sb = Buffer.alloc(1024);
    const { bytesRead } = await h.read(sb, 0, sb.length, SUPERBLOCK_OFFSET);
    if (bytesRead < sb.length || sb.readUInt16LE(56) !== EXT_MAGIC) return null;
    const logBlock = sb.readUInt32LE(24);
    if (logBlock > 6) return null;
    const compat = sb.readUInt32LE(92);
    const incompat = sb.readUInt32LE(96);
    // extents, 64bit or flex_bg make it ext4; a journal without them, ext3.
    const kind = incompat & (0x40 | 0x80 | 0x200) ? 'ext4' : compat & 0x4 ? 'ext3' : 'ext2';
    const blocks = sb.readUInt32LE(4) + (incompat & 0x80 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
    return { kind, blockSize: 1024 << logBlock, blocks };
  } finally {
    await h.close();
  }
}

/** One entry of the answer: a file or directory, or a kind of metadata, or free space. */
export interface FilesEntry {
  kind: 'file' | 'directory' | 'other' | 'metadata' | 'free space';
  /** Path of a file, directory or other inode (a symbolic link, a device...); metadata: its kind. */
  name: string;
  inode?: number;
  /** Bytes of its blocks in the changed ranges. */
  bytes: number;
}

type Range = [first: number, last: number];

/** The layout dumpe2fs prints: metadata ranges by kind, and free block ranges. */
export function parseLayout(text: string): { metadata: Array<[string, Range]>; free: Range[] } {
  const metadata: Array<[string, Range]> = [];
  const free: Range[] = [];
  const range = (s: string): Range => {
    const [a, b] = s.split('-').map(Number);
    return [a!, b ?? a!];
  };
  for (const line of text.split('\n')) {
    let m;
    if ((m = /superblock at (\d+)(?:, Group descriptors at (\d+(?:-\d+)?))?/.exec(line))) {
      metadata.push(['superblock and group descriptors', range(m[1]!)]);
      if (m[2]) metadata.push(['superblock and group descriptors', range(m[2])]);
    }
    if ((m = /^\s*Reserved GDT blocks at (\d+(?:-\d+)?)/.exec(line))) metadata.push(['reserved GDT blocks', range(m[1]!)]);
    if ((m = /^\s*Block bitmap at (\d+)/.exec(line))) metadata.push(['block bitmap', range(m[1]!)]);
    if ((m = /^\s*Inode bitmap at (\d+)/.exec(line))) metadata.push(['inode bitmap', range(m[1]!)]);
    if ((m = /^\s*Inode table at (\d+(?:-\d+)?)/.exec(line))) metadata.push(['inode table', range(m[1]!)]);
    if ((m = /^\s*Free blocks: (.+)$/.exec(line))) for (const r of m[1]!.split(',')) if (r.trim()) free.push(range(r.trim()));
  }
  return { metadata, free };
}

/**
 * Disjoint ranges, sorted, searched: a large file system has thousands of groups with several
 * ranges each. `find(b)` is the index of the range holding block b, or -1.
 */
class RangeIndex {
  private readonly ranges: Range[];

  constructor(ranges: Iterable<Range>) {
    this.ranges = [...ranges].sort((x, y) => x[0] - y[0]);
  }

  find(block: number): number {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = this.ranges[mid]!;
      if (block < a) hi = mid - 1;
      else if (block > b) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  get(i: number): Range {
    return this.ranges[i]!;
  }
}

/** Runs an e2fsprogs tool; its stdout as text. */
async function e2fsTool(cmd: string, args: string[], input?: string): Promise<string> {
  const missing = `--files needs ${cmd} (e2fsprogs): install e2fsprogs`;
  return (await runTool(cmd, args, { ...(input === undefined ? {} : { input }), timeoutMs: TOOL_TIMEOUT_MS, missing })).toString('utf8');
}

/** Runs debugfs read-only on `device` with `commands` on stdin. */
function debugfs(device: string, commands: string[]): Promise<string> {
  return e2fsTool('debugfs', ['-f', '-', device], `${commands.join('\n')}\n`);
}

/**
 * Names what the changed `blocks` (sorted, unique block numbers of the file system) belong to.
 * `device` is an absolute path: the image, or the live volume.
 */
export async function nameBlocks(device: string, info: ExtInfo, blocks: readonly number[]): Promise<FilesEntry[]> {
  const layout = parseLayout(await e2fsTool('dumpe2fs', [device]));
  const byMetadata = new Map<string, number>();
  let free = 0;
  const unknown: number[] = [];
  const kindOf = new Map(layout.metadata.map(([kind, r]) => [r[0], kind]));
  const metadata = new RangeIndex(layout.metadata.map(([, r]) => r));
  const freeBlocks = new RangeIndex(layout.free);
  for (const b of blocks) {
    const i = metadata.find(b);
    const kind = i >= 0 ? kindOf.get(metadata.get(i)[0])! : null;
    if (kind) byMetadata.set(kind, (byMetadata.get(kind) ?? 0) + 1);
    else unknown.push(b);
  }
  // Who owns the rest: icheck, a line of blocks at a time.
  const owner = new Map<number, number>();
  const commands: string[] = [];
  for (let i = 0; i < unknown.length; i += BLOCKS_PER_COMMAND) commands.push(`icheck ${unknown.slice(i, i + BLOCKS_PER_COMMAND).join(' ')}`);
  if (commands.length > 0) {
    for (const line of (await debugfs(device, commands)).split('\n')) {
      const m = /^(\d+)\t(\d+)$/.exec(line);
      if (m) owner.set(Number(m[1]), Number(m[2]));
    }
  }
  const blocksOf = new Map<number, number>();
  for (const b of unknown) {
    const ino = owner.get(b);
    if (ino === undefined) {
      if (freeBlocks.find(b) >= 0) free++;
      else if (b === 0) byMetadata.set('boot block', (byMetadata.get('boot block') ?? 0) + 1);
      else byMetadata.set('other metadata', (byMetadata.get('other metadata') ?? 0) + 1);
    } else if (RESERVED_INODES[ino]) {
      const kind = ino === 8 ? `${info.kind} journal` : RESERVED_INODES[ino]!;
      byMetadata.set(kind, (byMetadata.get(kind) ?? 0) + 1);
    } else {
      blocksOf.set(ino, (blocksOf.get(ino) ?? 0) + 1);
    }
  }
  const inodes = [...blocksOf.keys()].sort((a, b) => a - b);
  const paths = new Map<number, string>([[ROOT_INODE, '/']]);
  const types = new Map<number, string>();
  if (inodes.length > 0) {
    const names = inodes.filter((i) => i !== ROOT_INODE);
    const text = await debugfs(device, [
      ...(names.length ? [`ncheck ${names.join(' ')}`] : []),
      ...inodes.map((i) => `stat <${i}>`),
    ]);
    for (const line of text.split('\n')) {
      let m;
      // ncheck prints "//name" for entries of the root: one slash is the path.
      if ((m = /^(\d+)\t(.+)$/.exec(line)) && !paths.has(Number(m[1]))) paths.set(Number(m[1]), m[2]!.replace(/\/{2,}/g, '/'));
      if ((m = /^Inode: (\d+)\s+Type: (\w+)/.exec(line))) types.set(Number(m[1]), m[2]!);
    }
  }
  const bytes = (n: number) => n * info.blockSize;
  const entries: FilesEntry[] = inodes.map((ino) => {
    const type = types.get(ino);
    const kind = type === 'regular' ? 'file' : type === 'directory' ? 'directory' : 'other';
    return { kind, name: paths.get(ino) ?? `<inode ${ino}, no name: deleted or not yet linked>`, inode: ino, bytes: bytes(blocksOf.get(ino)!) };
  });
  for (const [name, n] of [...byMetadata].sort()) entries.push({ kind: 'metadata', name, bytes: bytes(n) });
  if (free > 0) entries.push({ kind: 'free space', name: 'blocks no file owns', bytes: bytes(free) });
  return entries;
}
