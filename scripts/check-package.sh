#!/usr/bin/env bash
# The package check, run by the test command (suite "package") and so by CI: packs trackfs as
# `npm pack` does on a clean checkout (scripts/pack.sh), installs the tarball globally into a
# temporary prefix, and uses the installed `trackfs` as a user would, from a directory outside
# this repository: --version, then mount, a write, changes, unmount, and the journal offline. A
# file missing from the package, or a dependency missing from package.json, fails it.
# Needs the npm registry (or npm's cache) for the dependencies, root and /dev/fuse for the mount.
# Exit 0: passed; 1: failed (the last line says where); 77: cannot run here (no root or FUSE).
# Leaves nothing behind: the mount, the daemon and the temporary directory are removed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
  echo "package check: needs root and /dev/fuse (it mounts with the installed trackfs); not run"
  exit 77
fi

work=$(mktemp -d /tmp/trackfs-pkgcheck.XXXXXX)
bin="$work/prefix/bin/trackfs"
export TRACKFS_RUNTIME_DIR="$work/run"
export TRACKFS_STATE_DIR="$work/state"
cleanup() {
  cd /
  if grep -qF " $work/mnt " /proc/self/mountinfo 2>/dev/null; then
    timeout 30 "$bin" unmount --lazy "$work/mnt" > /dev/null 2>&1 || fusermount -uz -- "$work/mnt" > /dev/null 2>&1 || true
  fi
  local reg pid
  for reg in "$TRACKFS_RUNTIME_DIR"/*.json; do
    [ -f "$reg" ] || continue
    pid=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).pid)' "$reg" 2>/dev/null) || continue
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q __daemon; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  grep -qF " $work/mnt " /proc/self/mountinfo 2>/dev/null || rm -rf --one-file-system -- "$work"
}
trap cleanup EXIT
step() { printf 'package check: %s\n' "$*"; }
die() { printf 'package check: FAILED: %s\n' "$*"; exit 1; }

step "npm pack"
tgz=$("$root/scripts/pack.sh" "$work") || die "npm pack failed"
step "npm install -g $(basename "$tgz") into a temporary prefix"
npm install -g --prefix "$work/prefix" --no-audit --no-fund --loglevel=error "$tgz" > "$work/install.log" 2>&1 ||
  { cat "$work/install.log"; die "npm install -g of the tarball failed"; }
[ -x "$bin" ] || die "the installed package has no bin/trackfs"

mkdir "$work/elsewhere" "$work/mnt"
cd "$work/elsewhere"
want=$(node -p 'require(process.argv[1]).version' "$root/package.json")
got=$("$bin" --version) || die "trackfs --version failed"
[ "$got" = "$want" ] || die "trackfs --version printed '$got', package.json says '$want'"
step "trackfs --version: $got"

truncate -s 64M disk.img
"$bin" mount disk.img "$work/mnt" || die "trackfs mount failed"
dd if=/dev/urandom of="$work/mnt/volume" bs=64k count=1 seek=3 conv=notrunc status=none || die "cannot write to the volume"
extents=$("$bin" changes "$work/mnt" --json | node -e '
  let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => console.log(JSON.stringify(JSON.parse(s).extents)));') ||
  die "trackfs changes failed"
[ "$extents" = '[{"offset":196608,"length":65536}]' ] || die "changes listed $extents, expected the one cluster written at 192 KiB"
"$bin" unmount "$work/mnt" || die "trackfs unmount failed"
grep -qF " $work/mnt " /proc/self/mountinfo && die "still mounted after trackfs unmount"
state=$("$bin" status disk.img.trackfs --json | node -e '
  let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => console.log(JSON.parse(s).journalState));') ||
  die "trackfs status JOURNAL failed"
[ "$state" = clean ] || die "the journal is '$state' after unmount, expected clean"
step "mount, write, changes, unmount, status with the installed trackfs: ok"
