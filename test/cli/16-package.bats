#!/usr/bin/env bats
# trackfs as a user installs and runs it (issue 15): the npm package (packed once per file, as a
# clean checkout packs it, and installed globally into a temporary prefix), a global install from
# a git URL, npx, an install without a compiler, a machine without libfuse2 and fuse, shell
# completion, and mount(8): `trackfs install-mount-helper`, `mount -t fuse.trackfs`, an fstab line
# mounted with `mount -a -T FILE`, and `umount`.
#
# Whatever would change the machine happens in a private mount namespace per test: libfuse.so.2
# and fusermount are hidden there, and /sbin is an overlay whose changes go to the test's
# directory, so the helper is never installed for real and other tests never see it.

load helpers
load package-helpers

setup_file() { pkg_setup_file; }
teardown_file() { pkg_teardown_file; }

setup() {
  tf_setup
  pkg_use
  VERSION="$(json 'j.version' < "$TF_ROOT/package.json")"
}

teardown() {
  ns_stop
  tf_teardown
}

# A 64 MiB image with a clean journal that lists one 64K cluster (at 192K), made by a real mount.
clean_journal_with_one_change() {
  IMG="$(tf_image disk.img 64M)"
  local mnt
  mnt="$(tf_mountpoint first)"
  tf_mount_ok "$IMG" "$mnt"
  write_at "$mnt/volume" 196608 4096
  trackfs unmount "$mnt" || fail_msg "unmount failed"
  assert_eq "$(journal_state "$IMG.trackfs")" clean "journal after unmount"
}

# ------------------------------------------------------------------ package ----

@test "npm pack: the tarball carries what a user runs, and no tests, benchmark or CI" {
  run tar -tzf "$PKG_TGZ"
  assert_status 0
  local f
  for f in package.json LICENSE README.md bin/trackfs.js bin/load.js bin/mount.fuse.trackfs.js dist/src/cli/main.js \
    dist/src/cli/mount-helper.js dist/src/journal/journal.js native/binding.gyp native/src/addon.c native/src/fastpath.c \
    scripts/build-native.mjs docs/journal-format.md; do
    grep -qxF "package/$f" <<< "$output" || fail_msg "the tarball has no $f"
  done
  local unwanted
  unwanted="$(grep -E '^package/(test|bench|\.ci|src|dist/test|dist/bench|native/test|native/build|node_modules)/|\.map$|\.ts$|tsconfig|eslint|run-tests|package-lock' <<< "$output" |
    grep -v '\.d\.ts$' || true)"
  assert_eq "$unwanted" "" "files that must not be in the package"
}

@test "npm pack: package.json says what a user looks for, LICENSE is MIT" {
  local pj
  pj="$(tar -xzOf "$PKG_TGZ" package/package.json)"
  assert_eq "$(json 'j.license' <<< "$pj")" MIT "license"
  assert_eq "$(json 'j.bin.trackfs' <<< "$pj")" bin/trackfs.js "bin"
  assert_eq "$(json 'j.os.join(",")' <<< "$pj")" linux,darwin "os"
  assert_eq "$(json 'j.engines.node' <<< "$pj")" ">=20.15" "engines"
  assert_eq "$(json 'j.version' <<< "$pj")" "$VERSION" "version"
  [ -n "$(json 'j.description' <<< "$pj")" ] || fail_msg "no description"
  [ "$(json 'j.keywords.length' <<< "$pj")" -gt 3 ] || fail_msg "no keywords"
  [[ "$(json 'j.repository.url' <<< "$pj")" == git+https://* ]] || fail_msg "no repository url"
  tar -xzOf "$PKG_TGZ" package/LICENSE | grep -q '^MIT License$' || fail_msg "LICENSE is not the MIT license"
}

# tsc_consumer DIR: a TypeScript project in DIR that depends on the installed package (its own
# node_modules: trackfs from the global prefix, @types/node from this repository).
tsc_consumer() {
  mkdir -p "$1/node_modules/@types"
  ln -s "$PKG_PREFIX/lib/node_modules/trackfs" "$1/node_modules/trackfs"
  ln -s "$TF_ROOT/node_modules/@types/node" "$1/node_modules/@types/node"
  printf '{ "type": "module" }\n' > "$1/package.json"
}

tsc_check() {
  node "$TF_ROOT/node_modules/typescript/bin/tsc" --strict --noEmit --module nodenext --moduleResolution nodenext \
    --target es2022 --types node "$@"
}

@test "the package ships its types: a TypeScript user's code type-checks against them, and a wrong call does not" {
  tar -tzf "$PKG_TGZ" | grep -qxF package/dist/src/api.d.ts || fail_msg "the tarball has no dist/src/api.d.ts"
  local dir="$TF_TMP/consumer"
  tsc_consumer "$dir"
  cat > "$dir/use.ts" <<'TS'
import { mount, type ChangesReport, type MountOptions, type TrackfsMount } from 'trackfs';
const options: MountOptions = { durability: 'ordered', clusterSize: '4K' };
const m: TrackfsMount = await mount('disk.img', 'mnt', options);
const since: string = await m.checkpoint();
const report: ChangesReport = await m.changes({ since });
const first: number | undefined = report.extents[0]?.offset;
console.log(first, (await m.status()).state);
await m.unmount({ lazy: false });
TS
  cd "$dir"
  run tsc_check use.ts
  assert_status 0
  # Types that could not fail would prove nothing: a wrong option value and a missing argument.
  cat > "$dir/wrong.ts" <<'TS'
import { mount } from 'trackfs';
await mount('disk.img', 'mnt', { durability: 'fast' });
await mount('disk.img');
TS
  run tsc_check wrong.ts
  [ "$status" -ne 0 ] || fail_msg "a wrong call type-checked: the package's types are missing or any"
  [[ "$output" == *"wrong.ts(2,"*"'\"fast\"'"* ]] || fail_msg "the wrong durability was not the error: $output"
  [[ "$output" == *"wrong.ts(3,"* ]] || fail_msg "the missing mountpoint was not an error: $output"
}

@test "npm install -g of the tarball: trackfs is on PATH and prints its version, from any directory" {
  assert_eq "$(command -v trackfs)" "$PKG_PREFIX/bin/trackfs" "trackfs on PATH"
  cd /
  run --separate-stderr trackfs --version
  assert_status 0
  assert_eq "$output" "$VERSION" "--version"
  run --separate-stderr trackfs --help
  assert_status 0
  [[ "$output" == *"trackfs install-mount-helper"* && "$output" == *"trackfs completion"* ]] || fail_msg "--help lacks the new commands"
}

@test "the installed trackfs mounts, lists what was written and unmounts with the journal clean" {
  local img mnt
  img="$(tf_image disk.img 64M)"
  mnt="$(tf_mountpoint mnt)"
  tf_mount_ok "$img" "$mnt" --durability ordered
  # The daemon runs from the installed package, not from this repository.
  local pid
  pid="$(trackfs status "$mnt" --json | json 'j.pid')"
  [[ "$(tr '\0' ' ' < "/proc/$pid/cmdline")" == *"$PKG_PREFIX/lib/node_modules/trackfs/bin/trackfs.js __daemon"* ]] ||
    fail_msg "daemon command line: $(tr '\0' ' ' < "/proc/$pid/cmdline")"
  write_at "$mnt/volume" 196608 4096
  run --separate-stderr trackfs changes "$mnt" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 3 "changed clusters"
  run --separate-stderr trackfs unmount "$mnt"
  assert_status 0
  assert_not_mounted "$mnt"
  assert_eq "$(journal_state "$img.trackfs")" clean "journal"
}

@test "npx runs trackfs from the package" {
  cd "$TF_TMP"
  run --separate-stderr npx --yes --cache "$TF_TMP/npm-cache" --package="$PKG_TGZ" -- trackfs --version
  assert_status 0
  assert_eq "${lines[-1]}" "$VERSION" "npx trackfs --version"
  clean_journal_with_one_change
  run --separate-stderr npx --yes --cache "$TF_TMP/npm-cache" --package="$PKG_TGZ" -- trackfs changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 3 "changes through npx"
}

@test "npm install -g --install-links from a git URL builds trackfs and installs it" {
  git -C "$TF_ROOT" rev-parse --verify -q HEAD > /dev/null || skip "not a git checkout"
  # A bare repository holding this checkout's HEAD, reached by URL as a remote one would be.
  git init -q --bare "$TF_TMP/trackfs.git"
  git -C "$TF_ROOT" push -q "$TF_TMP/trackfs.git" HEAD:refs/heads/main
  git --git-dir="$TF_TMP/trackfs.git" symbolic-ref HEAD refs/heads/main
  run pkg_install "$TF_TMP/git-prefix" "git+file://$TF_TMP/trackfs.git" --install-links
  assert_status 0
  local pkg="$TF_TMP/git-prefix/lib/node_modules/trackfs"
  [ -d "$pkg" ] && [ ! -L "$pkg" ] || fail_msg "not installed as a copy: $(ls -ld "$pkg" 2>&1)"
  run --separate-stderr "$TF_TMP/git-prefix/bin/trackfs" --version
  assert_status 0
  assert_eq "$output" "$VERSION" "--version"
  [ -f "$pkg/dist/src/cli/main.js" ] || fail_msg "dist was not built"
  [ ! -e "$pkg/test" ] && [ ! -e "$pkg/bench" ] && [ ! -e "$pkg/node_modules/typescript" ] || fail_msg "tests, benchmark or dev dependencies installed"
  [ -f "$pkg/native/build/Release/trackfs_native.node" ] || fail_msg "the native addon was not built at install"
}

@test "npm install -g without a C compiler: the install succeeds, says so in one line, and trackfs works" {
  # A PATH with Node.js, npm and a shell, and no compiler, make or python.
  mkdir "$TF_TMP/nocc"
  local t
  for t in node npm sh; do ln -s "$(command -v "$t")" "$TF_TMP/nocc/$t"; done
  run env PATH="$TF_TMP/nocc" npm install -g --prefix "$TF_TMP/nocc-prefix" --no-audit --no-fund --foreground-scripts -- "$PKG_TGZ"
  assert_status 0
  [ "$(grep -c '^trackfs: native addon not built (.*); trackfs will use its JavaScript paths$' <<< "$output")" = 1 ] ||
    fail_msg "no one-line 'native addon not built' message"
  local pkg="$TF_TMP/nocc-prefix/lib/node_modules/trackfs"
  [ ! -e "$pkg/native/build/Release/trackfs_native.node" ] || fail_msg "an addon was built without a compiler?"
  clean_journal_with_one_change
  local mnt
  mnt="$(tf_mountpoint mnt)"
  run --separate-stderr "$TF_TMP/nocc-prefix/bin/trackfs" mount "$IMG" "$mnt"
  assert_status 0
  printf '%s\n' "$("$TF_TMP/nocc-prefix/bin/trackfs" status "$mnt" --json | json 'j.pid')" >> "$TF_TMP/.state/pids"
  run --separate-stderr "$TF_TMP/nocc-prefix/bin/trackfs" status "$mnt" --json
  assert_eq "$(json 'j.dataPath.path' <<< "$output")" javascript "data path without the addon"
  run --separate-stderr "$TF_TMP/nocc-prefix/bin/trackfs" unmount "$mnt"
  assert_status 0
  assert_eq "$(journal_state "$IMG.trackfs")" clean "journal"
}

# --------------------------------------------------------- no libfuse2, fuse ----

@test "without libfuse2 and fuse: mount says in one line what to install, and opens nothing" {
  clean_journal_with_one_change
  ns_start
  ns_without_fuse
  local mnt
  mnt="$(tf_mountpoint mnt)"
  run --separate-stderr in_ns trackfs mount "$IMG" "$mnt"
  assert_fails_with 1 "FUSE is not available" "libfuse2" "apt-get install libfuse2 fuse"
  ! in_ns_mounted "$mnt" || fail_msg "mounted?"
  # The journal was not made active (it was, before the check came first).
  assert_eq "$(journal_state "$IMG.trackfs")" clean "the existing journal"
  # Nor is a journal created for an image that has none, nor a daemon left registered.
  local other
  other="$(tf_image other.img 16M)"
  run --separate-stderr in_ns trackfs mount "$other" "$mnt"
  assert_fails_with 1 "install libfuse2 and fuse"
  [ ! -e "$other.trackfs" ] || fail_msg "a journal was created for a mount that could not be"
  compgen -G "$TRACKFS_RUNTIME_DIR/*.json" > /dev/null && fail_msg "a daemon registration was left"
  return 0
}

@test "without libfuse2 and fuse: status, changes, checkpoint and backup of a journal and an image work" {
  clean_journal_with_one_change
  ns_start
  ns_without_fuse
  run --separate-stderr in_ns trackfs status "$IMG.trackfs"
  assert_status 0
  [[ "$output" =~ (^|$'\n')state\ +clean ]] || fail_msg "status: $output"
  run --separate-stderr in_ns trackfs changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 3 "changes"
  run --separate-stderr in_ns trackfs backup "$IMG" "$TF_TMP/backup.img" --checkpoint --no-progress
  assert_status 0
  cmp "$IMG" "$TF_TMP/backup.img" || fail_msg "the backup differs from the image"
  run --separate-stderr in_ns trackfs checkpoint "$IMG.trackfs"
  assert_status 0
  run --separate-stderr in_ns trackfs --version
  assert_eq "$output" "$VERSION" "--version"
}

@test "without fusermount alone: mount names it" {
  clean_journal_with_one_change
  ns_start
  ns_hide "$(realpath "$(command -v fusermount)")"
  local mnt
  mnt="$(tf_mountpoint mnt)"
  run --separate-stderr in_ns trackfs mount "$IMG" "$mnt"
  assert_fails_with 1 "fusermount is not installed" "apt-get install libfuse2 fuse"
  assert_eq "$(journal_state "$IMG.trackfs")" clean "the journal"
}

@test "npm install -g without libfuse2 and without a compiler succeeds; mount says what to install, the rest works" {
  clean_journal_with_one_change
  ns_start
  ns_without_fuse
  mkdir "$TF_TMP/nocc"
  local t
  for t in node npm sh; do ln -s "$(command -v "$t")" "$TF_TMP/nocc/$t"; done
  # fuse-native's own install fails here (its prebuild needs libfuse.so.2, its build a compiler).
  run in_ns env PATH="$TF_TMP/nocc" npm install -g --prefix "$TF_TMP/bare-prefix" --no-audit --no-fund --loglevel=error -- "$PKG_TGZ"
  assert_status 0
  local bin="$TF_TMP/bare-prefix/bin/trackfs"
  run --separate-stderr in_ns "$bin" changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 3 "changes"
  local mnt
  mnt="$(tf_mountpoint mnt)"
  run --separate-stderr in_ns "$bin" mount "$IMG" "$mnt"
  assert_fails_with 1 "FUSE is not available" "install libfuse2 and fuse" "install trackfs again"
  assert_eq "$(journal_state "$IMG.trackfs")" clean "the journal"
}

# ---------------------------------------------------------------- completion ----

@test "trackfs completion: a bash script that completes commands, options and their values" {
  run --separate-stderr trackfs completion bash
  assert_status 0
  printf '%s\n' "$output" > "$TF_TMP/completion.bash"
  bash -n "$TF_TMP/completion.bash" || fail_msg "not valid bash"
  # What bash does on TAB: COMP_WORDS is the line so far, the function fills COMPREPLY.
  local complete='source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _trackfs_yargs_completions; printf "%s\n" "${COMPREPLY[@]}"'
  run bash -c "$complete" - "$TF_TMP/completion.bash" trackfs mo
  assert_eq "$output" mount "trackfs mo<TAB>"
  run bash -c "$complete" - "$TF_TMP/completion.bash" trackfs install
  assert_eq "$output" install-mount-helper "trackfs install<TAB>"
  run bash -c "$complete" - "$TF_TMP/completion.bash" trackfs mount disk.img /mnt --dura
  assert_eq "$output" --durability "trackfs mount ... --dura<TAB>"
  run bash -c "$complete" - "$TF_TMP/completion.bash" trackfs mount disk.img /mnt --durability ''
  assert_eq "$(sort <<< "$output" | paste -sd' ')" "ordered strict" "--durability <TAB>"
}

@test "trackfs completion zsh prints the zsh script; another shell is refused in one line" {
  run --separate-stderr trackfs completion zsh
  assert_status 0
  assert_eq "${lines[0]}" "#compdef trackfs" "first line"
  [[ "$output" == *"compdef _trackfs_yargs_completions trackfs"* ]] || fail_msg "no compdef line"
  if command -v zsh > /dev/null; then
    printf '%s\n' "$output" > "$TF_TMP/completion.zsh"
    zsh -n "$TF_TMP/completion.zsh" || fail_msg "not valid zsh"
  fi
  SHELL=/bin/zsh run --separate-stderr trackfs completion bash
  assert_eq "${lines[0]}" "###-begin-trackfs-completions-###" "bash named on the command line, zsh in SHELL"
  run --separate-stderr trackfs completion fish
  assert_fails_with 2 "fish" "bash or zsh"
}

# ------------------------------------------------------------------ mount(8) ----

# install_helper: in this test's namespace, /sbin is an overlay and trackfs install-mount-helper
# puts the helper there. Sets HELPER_UPPER (where the file really is).
install_helper() {
  ns_start
  HELPER_UPPER="$(ns_overlay "$(realpath /sbin)")"
  run --separate-stderr in_ns trackfs install-mount-helper
  assert_status 0
}

@test "install-mount-helper needs root, and says so in one line" {
  local u
  u="$(tf_user)"
  chmod 755 "$PKG_TMP"
  run --separate-stderr as_user "$u" "$PKG_PREFIX/bin/trackfs" install-mount-helper
  assert_fails_with 1 "must run as root" "/sbin/mount.fuse.trackfs"
}

@test "install-mount-helper puts /sbin/mount.fuse.trackfs in place, says where, replaces its own, and --remove removes it" {
  install_helper
  local sbin
  sbin="$(realpath /sbin)"
  [[ "${lines[0]}" == "installed $sbin/mount.fuse.trackfs: it runs trackfs $VERSION from $PKG_PREFIX/lib/node_modules/trackfs with "* ]] ||
    fail_msg "first line: ${lines[0]}"
  [ -f "$HELPER_UPPER/mount.fuse.trackfs" ] || fail_msg "the helper is not in the namespace's /sbin"
  assert_eq "$(stat -c '%a %u' "$HELPER_UPPER/mount.fuse.trackfs")" "755 0" "mode and owner"
  run --separate-stderr in_ns "$sbin/mount.fuse.trackfs"
  assert_fails_with 1 "an image and a mountpoint are needed"
  run --separate-stderr in_ns trackfs install-mount-helper
  assert_status 0
  run --separate-stderr in_ns trackfs install-mount-helper --remove
  assert_status 0
  assert_eq "$output" "removed $sbin/mount.fuse.trackfs" "--remove"
  in_ns test ! -e /sbin/mount.fuse.trackfs || fail_msg "still there after --remove"
  run --separate-stderr in_ns trackfs install-mount-helper --remove
  assert_status 0
  [[ "$output" == *"nothing to remove"* ]] || fail_msg "second --remove: $output"
}

@test "install-mount-helper leaves a mount.fuse.trackfs it did not install alone" {
  ns_start
  HELPER_UPPER="$(ns_overlay "$(realpath /sbin)")"
  printf '#!/bin/sh\necho mine\n' > "$HELPER_UPPER/mount.fuse.trackfs"
  run --separate-stderr in_ns trackfs install-mount-helper
  assert_fails_with 1 "was not installed by trackfs" "move it away first"
  assert_eq "$(cat "$HELPER_UPPER/mount.fuse.trackfs")" "$(printf '#!/bin/sh\necho mine')" "the other helper"
  run --separate-stderr in_ns trackfs install-mount-helper --remove
  assert_fails_with 1 "was not installed by trackfs"
}

@test "install-mount-helper refuses a trackfs that another user could change: root's mount(8) would run it" {
  ns_start
  HELPER_UPPER="$(ns_overlay "$(realpath /sbin)")"
  cp -a "$PKG_PREFIX" "$TF_TMP/prefix2"
  chmod g+w "$TF_TMP/prefix2/lib/node_modules/trackfs/dist/src/cli/main.js"
  run --separate-stderr in_ns "$TF_TMP/prefix2/bin/trackfs" install-mount-helper
  assert_fails_with 1 "not installing a helper" "dist/src/cli/main.js is writable by group or others"
  [ ! -e "$HELPER_UPPER/mount.fuse.trackfs" ] || fail_msg "installed anyway"
}

@test "mount -t fuse.trackfs IMAGE MOUNTPOINT -o ...: mounted with those options; umount closes the journal clean" {
  install_helper
  local img mnt pid
  img="$(tf_image disk.img 64M)"
  mnt="$(tf_mountpoint mnt)"
  mkdir "$TF_TMP/journals"
  cd "$TF_TMP"
  run --separate-stderr in_ns mount -t fuse.trackfs disk.img mnt -o "durability=ordered,journal=$TF_TMP/journals/disk.trackfs,cluster-size=1M"
  assert_status 0
  assert_eq "$(in_ns awk -v p="$mnt" '$5 == p { for (i = 7; i <= NF; i++) if ($i == "-") print $(i + 1) }' /proc/self/mountinfo)" fuse.trackfs "type"
  run --separate-stderr in_ns trackfs status "$mnt" --json
  assert_status 0
  assert_eq "$(json 'j.durability' <<< "$output")" ordered "durability"
  assert_eq "$(json 'j.clusterSize' <<< "$output")" 1048576 "cluster size"
  assert_eq "$(json 'j.journal' <<< "$output")" "$TF_TMP/journals/disk.trackfs" "journal"
  pid="$(json 'j.pid' <<< "$output")"
  printf '%s\n' "$pid" >> "$TF_TMP/.state/pids"
  in_ns dd if=/dev/urandom of="$mnt/volume" bs=4096 count=1 seek=768 conv=notrunc status=none
  run --separate-stderr in_ns trackfs changes "$mnt" --json
  assert_eq "$(clusters_of 1048576 <<< "$output")" 3 "changed clusters"
  run --separate-stderr in_ns umount "$mnt"
  assert_status 0
  ! in_ns_mounted "$mnt" || fail_msg "still mounted"
  # umount(2) returns at once; the daemon sees its mount gone, closes the journal clean and exits.
  wait_for_exit "$pid" 20 || fail_msg "the daemon did not exit after umount"
  assert_eq "$(journal_state "$TF_TMP/journals/disk.trackfs")" clean "journal after umount"
  run --separate-stderr trackfs changes "$TF_TMP/journals/disk.trackfs" --json
  assert_eq "$(clusters_of 1048576 <<< "$output")" 3 "changes offline"
}

@test "an fstab line, mounted with mount -a -T FILE: read-only, ordered, a mountpoint with a space; umount" {
  install_helper
  local img mnt pid
  img="$(tf_image disk.img 64M)"
  mnt="$(tf_mountpoint 'mnt two')"
  # fstab escapes a space as \040; nofail and x-* are mount(8)'s and systemd's, not trackfs's.
  printf '%s %s fuse.trackfs %s 0 0\n' "$img" "${mnt// /\\040}" "journal=$TF_TMP/disk.trackfs,durability=ordered,ro,nofail,x-systemd.automount" > "$TF_TMP/fstab"
  printf '%s\n' '# a comment, and an entry mount -a skips' "$img $TF_TMP/never fuse.trackfs noauto 0 0" >> "$TF_TMP/fstab"
  run --separate-stderr in_ns mount -a -T "$TF_TMP/fstab"
  assert_status 0
  run --separate-stderr in_ns trackfs status "$mnt" --json
  assert_status 0
  assert_eq "$(json 'j.readOnly' <<< "$output")" true "read-only"
  assert_eq "$(json 'j.durability' <<< "$output")" ordered "durability"
  assert_eq "$(json 'j.journal' <<< "$output")" "$TF_TMP/disk.trackfs" "journal"
  pid="$(json 'j.pid' <<< "$output")"
  printf '%s\n' "$pid" >> "$TF_TMP/.state/pids"
  run in_ns dd if=/dev/zero of="$mnt/volume" bs=4096 count=1 conv=notrunc status=none
  [ "$status" -ne 0 ] && [[ "$output" == *"Read-only file system"* ]] || fail_msg "a write to a read-only mount: $output"
  [ ! -e "$TF_TMP/never" ] || fail_msg "the noauto entry was mounted"
  run --separate-stderr in_ns umount "$mnt"
  assert_status 0
  wait_for_exit "$pid" 20 || fail_msg "the daemon did not exit after umount"
  assert_eq "$(journal_state "$TF_TMP/disk.trackfs")" clean "journal after umount"
}

@test "mount(8) refusals: unknown option, reset-journal, a relative journal path (exit 1); a missing image (exit 32)" {
  install_helper
  local img mnt
  img="$(tf_image disk.img 16M)"
  mnt="$(tf_mountpoint mnt)"
  cd "$TF_TMP"
  run --separate-stderr in_ns mount -t fuse.trackfs disk.img mnt -o noatime
  assert_fails_with 1 "unknown mount option 'noatime'" "journal="
  run --separate-stderr in_ns mount -t fuse.trackfs disk.img mnt -o reset-journal
  assert_fails_with 1 "reset-journal' is refused" "trackfs mount --reset-journal"
  run --separate-stderr in_ns mount -t fuse.trackfs disk.img mnt -o journal=disk.trackfs
  assert_fails_with 1 "journal= needs an absolute path"
  run --separate-stderr in_ns mount -t fuse.trackfs missing.img mnt
  assert_fails_with 32 "missing.img"
  printf '%s %s fuse.trackfs users 0 0\n' "$img" "$mnt" > "$TF_TMP/fstab"
  run --separate-stderr in_ns mount -a -T "$TF_TMP/fstab"
  [ "$status" -ne 0 ] || fail_msg "an fstab 'users' entry was mounted"
  [[ "$stderr" == *"'users' is refused"* ]] || fail_msg "stderr: $stderr"
  ! in_ns_mounted "$mnt" || fail_msg "mounted?"
  [ ! -e "$img.trackfs" ] || fail_msg "a refused mount created a journal"
}

@test "mount -fv -t fuse.trackfs: shows the trackfs command it would run, mounts nothing" {
  install_helper
  local img mnt
  img="$(tf_image disk.img 16M)"
  mnt="$(tf_mountpoint mnt)"
  run --separate-stderr in_ns mount -fv -t fuse.trackfs "$img" "$mnt" -o allow_other,journal=/var/lib/x.trackfs
  assert_status 0
  [[ "$output" == *"mount.fuse.trackfs: would run trackfs mount --journal=/var/lib/x.trackfs --allow-other $img $mnt"* ]] ||
    fail_msg "output: $output"
  ! in_ns_mounted "$mnt" || fail_msg "mounted"
  [ ! -e "$img.trackfs" ] || fail_msg "a journal was created"
}
