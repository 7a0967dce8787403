#!/usr/bin/env bats
# --read-only never writes the journal; files trackfs creates are as private as what they describe.

load helpers

setup() {
  tf_setup
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

digest() { sha256sum -- "$1" | cut -d' ' -f1; }

@test "--read-only works with the image and the journal on a read-only file system" {
  local fs="$TF_TMP/rofs"
  mkdir "$fs"
  printf '%s\n' "$fs" >> "$TF_TMP/.state/other-mounts"
  mount -t tmpfs -o size=8m tmpfs "$fs"
  truncate -s 1M "$fs/img"
  tf_mount_ok "$fs/img" "$MNT"
  write_at "$MNT/volume" 131072 100
  run trackfs unmount "$MNT"
  assert_status 0
  local sum
  sum="$(digest "$fs/img.trackfs")"
  mount -o remount,ro "$fs"

  tf_mount "$fs/img" "$MNT" --read-only
  assert_status 0
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 2 "clusters"
  run --separate-stderr trackfs checkpoint "$MNT"
  assert_fails_with 1 "read-only"
  run trackfs unmount "$MNT"
  assert_status 0
  assert_eq "$(digest "$fs/img.trackfs")" "$sum" "journal digest"
}

@test "--read-only never writes the journal, even when recovery finds it untrusted" {
  local img
  img="$(tf_image img 4M)"
  tf_mount_ok "$img" "$MNT"
  write_at "$MNT/volume" 0 100
  run trackfs unmount "$MNT"
  assert_status 0
  touch -d '2001-02-03 04:05:06' "$img"
  local sum
  sum="$(digest "$img.trackfs")"

  tf_mount_ok "$img" "$MNT" --read-only
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  [[ "$(json 'j.reason' <<< "$output")" == *"image was modified"* ]] || fail_msg "reason: $(json 'j.reason' <<< "$output")"
  run trackfs unmount "$MNT"
  assert_status 0
  assert_eq "$(digest "$img.trackfs")" "$sum" "journal digest"
  # A read-write mount comes to the same verdict, and records it.
  tf_mount_ok "$img" "$MNT"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted (read-write mount)"
}

@test "--read-only with --reset-journal is a usage error; nothing is mounted or written" {
  local img
  img="$(tf_image img 4M)"
  run --separate-stderr trackfs mount "$img" "$MNT" --read-only --reset-journal
  assert_fails_with 2 "--reset-journal" "--read-only"
  assert_not_mounted "$MNT"
  [ ! -e "$img.trackfs" ] || fail_msg "a journal was created"
}

@test "a new journal is as private as its image, whatever the umask; the foreground log is 0600" {
  umask 000
  local mode img
  for mode in 600 640 644; do
    img="$TF_TMP/img-$mode"
    truncate -s 4M "$img"
    chmod "$mode" "$img"
    tf_mount_ok "$img" "$MNT"
    assert_eq "$(stat -c %a "$img.trackfs")" "$mode" "journal mode for an image of mode $mode"
    run trackfs unmount "$MNT"
    assert_status 0
  done
  # An image of another group: the journal (of root's group) gets no group bits.
  img="$TF_TMP/img-other-group"
  truncate -s 4M "$img"
  chgrp 12345 "$img"
  chmod 660 "$img"
  tf_mount_ok "$img" "$MNT"
  assert_eq "$(stat -c %a "$img.trackfs")" 600 "journal mode for an image of another group"
  run trackfs unmount "$MNT"
  assert_status 0

  tf_helper "$TF_BIN" mount "$TF_TMP/img-600" "$MNT" --foreground --log-file "$TF_TMP/fg.log"
  local i
  for ((i = 0; i < 100; i++)); do [ "$(mount_fstype "$MNT")" = fuse.trackfs ] && break; sleep 0.1; done
  assert_live "$MNT" 4194304
  assert_eq "$(stat -c %a "$TF_TMP/fg.log")" 600 "foreground log mode"
  run trackfs unmount "$MNT"
  assert_status 0
}
