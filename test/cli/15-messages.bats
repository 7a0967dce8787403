#!/usr/bin/env bats
# Failures of the system (a full disk, a file in the way) as one line that names the file and the
# problem, never a raw "ENOSPC: no space left on device, write".

load helpers

setup() {
  tf_setup
  MNT="$(tf_mountpoint mnt)"
  FULL="$TF_TMP/full"
  mkdir "$FULL"
  tf_tmpfs_sized "$FULL" 4k
}
teardown() { tf_teardown; }

tf_tmpfs_sized() {
  printf '%s\n' "$1" >> "$TF_TMP/.state/other-mounts"
  mount -t tmpfs -o "size=$2" tmpfs "$1"
}

# assert_no_raw_errno: stderr has no Node.js system-error text.
assert_no_raw_errno() {
  if grep -Eq 'E[A-Z]+: [a-z]|, (open|write|read|mkdir|unlink|rename|listen) ' <<< "$stderr"; then fail_msg "raw system error text on stderr"; fi
}

@test "a journal that cannot be created on a full file system: one line naming it; nothing half-made is left" {
  local img
  img="$(tf_image img 64M)"
  tf_mount "$img" "$MNT" --journal "$FULL/j.trackfs"
  assert_fails_with 1 "$FULL/j.trackfs" "no space left"
  assert_no_raw_errno
  assert_not_mounted "$MNT"
  [ ! -e "$FULL/j.trackfs" ] || fail_msg "a half-made journal was left behind"
}

@test "a sidecar that cannot be written on a full file system: one line naming it" {
  local img
  img="$(tf_image img 4M)"
  tf_mount_ok "$img" "$MNT"
  truncate -s 4M "$TF_TMP/t.img"
  # Fill the small file system.
  head -c 1M /dev/zero > "$FULL/filler" 2>/dev/null || true
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/t.img" --full --sidecar "$FULL/t.sidecar"
  assert_fails_with 1 "$FULL/t.sidecar" "no space left"
  assert_no_raw_errno
}

@test "a backup target on a full file system: one line naming the target and the problem" {
  local img
  img="$(tf_image img 4M)"
  tf_mount_ok "$img" "$MNT"
  write_at "$MNT/volume" 0 1048576
  run --separate-stderr trackfs backup "$MNT" "$FULL/t.img" --sidecar "$TF_TMP/t.sidecar"
  assert_fails_with 1 "cannot write target $FULL/t.img" "no space left"
  assert_no_raw_errno
}
