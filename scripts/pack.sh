#!/usr/bin/env bash
# scripts/pack.sh DEST: makes the npm package (`npm pack`) as a clean checkout would, and prints the
# tarball's path (DEST/trackfs-VERSION.tgz).
# The files git knows (tracked, or new and not ignored) are copied to a temporary directory with
# node_modules linked in, and packed there: prepack then builds dist/src from nothing (what a
# file missing from git or from package.json's files would break shows here too), and the dist/
# of this tree, which the tests may be running from, is left alone.
set -euo pipefail
dest=${1:?usage: scripts/pack.sh DEST}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p -- "$dest"
dest=$(cd -- "$dest" && pwd)
[ -d "$root/node_modules" ] || { echo "pack: $root/node_modules is missing: run npm ci first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/trackfs-pack.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir "$work/src"
if git -C "$root" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  # Only what exists: a file deleted but not yet committed is gone from the package too.
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
  (cd "$root" && tar --exclude=./node_modules --exclude=./dist --exclude=./native/build -cf - .) | tar -xf - -C "$work/src"
fi
ln -s "$root/node_modules" "$work/src/node_modules"
(cd "$work/src" && npm pack --silent --pack-destination "$dest" > "$work/name") || { echo "pack: npm pack failed" >&2; exit 1; }
printf '%s/%s\n' "$dest" "$(tail -n 1 "$work/name")"
