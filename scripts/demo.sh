#!/usr/bin/env bash
# A tour of the main job: make an image, mount it, write to it, ask what changed, back it up (a
# full copy, then an incremental one after more writes), unmount, and ask the journal again
# offline. Installs what it needs first. Needs root or a user allowed to use FUSE. Leaves nothing
# behind.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

trackfs() { node bin/trackfs.js "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/trackfs-demo.XXXXXX")
export TRACKFS_RUNTIME_DIR="$work/run"
cleanup() {
  if grep -q " $work/mnt " /proc/self/mountinfo 2>/dev/null; then
    trackfs unmount --lazy "$work/mnt" 2>/dev/null || fusermount -uz "$work/mnt" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Bold only on a terminal: in a log or a pipe the escape codes would be noise.
if [ -t 1 ]; then say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }; else say() { printf '\n$ %s\n' "$*"; }; fi

mkdir "$work/mnt"
say "truncate -s 256M disk.img"
truncate -s 256M "$work/disk.img"

say "trackfs mount disk.img mnt"
trackfs mount "$work/disk.img" "$work/mnt"
ls -l "$work/mnt"

say "dd: 4 KiB at 1 MiB, 300 KiB at 10 MiB + 60 KiB (straddles clusters), 1 byte at the last byte"
dd if=/dev/urandom of="$work/mnt/volume" bs=4k count=1 seek=256 conv=notrunc status=none
dd if=/dev/urandom of="$work/mnt/volume" bs=1k count=300 seek=$((10 * 1024 + 60)) conv=notrunc status=none
printf 'x' | dd of="$work/mnt/volume" bs=1 seek=$((256 * 1024 * 1024 - 1)) conv=notrunc status=none

say "trackfs changes mnt"
trackfs changes "$work/mnt"

say "trackfs backup mnt backup.img --checkpoint   (first run: a full copy)"
trackfs backup "$work/mnt" "$work/backup.img" --checkpoint
checkpoint=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).checkpointId)' "$work/backup.img.trackfs-backup")

say "dd: 64 KiB at 100 MiB; trackfs changes mnt --since $checkpoint"
dd if=/dev/urandom of="$work/mnt/volume" bs=64k count=1 seek=1600 conv=notrunc status=none
trackfs changes "$work/mnt" --since "$checkpoint"

say "trackfs backup mnt backup.img --checkpoint --verify   (incremental: only what changed)"
trackfs backup "$work/mnt" "$work/backup.img" --checkpoint --verify

say "cmp mnt/volume backup.img"
cmp "$work/mnt/volume" "$work/backup.img" && echo "identical"

say "trackfs status mnt"
trackfs status "$work/mnt"

say "trackfs unmount mnt"
trackfs unmount "$work/mnt"

say "trackfs changes disk.img.trackfs --json   (offline, from the journal file: since the history began)"
trackfs changes "$work/disk.img.trackfs" --json
echo
echo "demo done: the incremental backup copied only what changed."
