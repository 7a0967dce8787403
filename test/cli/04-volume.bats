#!/usr/bin/env bats
# The volume behaves like a fixed-size disk: no growing, no shrinking, no other files.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

# no_changes: the journal recorded nothing.
no_changes() {
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.extents' <<< "$output")" "[]" "extents"
}

@test "a write past the end fails with ENOSPC and changes nothing" {
  tf_mount_ok "$IMG" "$MNT"
  run dd if=/dev/zero of="$MNT/volume" bs=4096 seek=1024 count=1 conv=notrunc
  [ "$status" -ne 0 ] || fail_msg "dd at the end succeeded"
  [[ "$output" == *"No space left"* ]] || fail_msg "dd at the end: $output"
  run dd if=/dev/zero of="$MNT/volume" bs=4096 seek=5000 count=1 conv=notrunc
  [ "$status" -ne 0 ] || fail_msg "dd beyond the end succeeded"
  [[ "$output" == *"No space left"* ]] || fail_msg "dd beyond the end: $output"
  assert_eq "$(stat -c %s "$MNT/volume")" 4194304 "volume size"
  assert_eq "$(stat -c %s "$IMG")" 4194304 "image size"
  no_changes
}

@test "a write straddling the end writes what fits, then fails with ENOSPC" {
  tf_mount_ok "$IMG" "$MNT"
  run dd if=/dev/zero of="$MNT/volume" bs=4096 seek=1023 count=2 conv=notrunc
  [ "$status" -ne 0 ] || fail_msg "dd across the end succeeded"
  [[ "$output" == *"No space left"* ]] || fail_msg "dd across the end: $output"
  assert_eq "$(stat -c %s "$IMG")" 4194304 "image size"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" 63 "clusters"
}

@test "truncate to another size fails; to the same size succeeds" {
  tf_mount_ok "$IMG" "$MNT"
  run truncate -s 8M "$MNT/volume"
  [ "$status" -ne 0 ] || fail_msg "growing the volume succeeded"
  run truncate -s 1M "$MNT/volume"
  [ "$status" -ne 0 ] || fail_msg "shrinking the volume succeeded"
  run truncate -s 0 "$MNT/volume"
  [ "$status" -ne 0 ] || fail_msg "emptying the volume succeeded"
  run truncate -s 4M "$MNT/volume"
  assert_status 0
  assert_eq "$(stat -c %s "$MNT/volume")" 4194304 "volume size"
  assert_eq "$(stat -c %s "$IMG")" 4194304 "image size"
  no_changes
}

@test "no new files, no removal, no rename, no directories" {
  tf_mount_ok "$IMG" "$MNT"
  run touch "$MNT/newfile"
  [ "$status" -ne 0 ] || fail_msg "touch of a new file succeeded"
  run rm -f "$MNT/volume"
  [ "$status" -ne 0 ] || fail_msg "rm of the volume succeeded"
  run mv "$MNT/volume" "$MNT/renamed"
  [ "$status" -ne 0 ] || fail_msg "rename succeeded"
  run mkdir "$MNT/dir"
  [ "$status" -ne 0 ] || fail_msg "mkdir succeeded"
  run ln -s volume "$MNT/link"
  [ "$status" -ne 0 ] || fail_msg "symlink succeeded"
  assert_eq "$(ls -A "$MNT")" volume "content of the mount"
  assert_live "$MNT" 4194304
  [ -f "$IMG" ] || fail_msg "the image is gone"
}

@test "--read-only: reading works, writing fails, changes stay empty" {
  head -c 4194304 /dev/urandom > "$IMG"
  cp "$IMG" "$TF_TMP/img.orig"
  tf_mount_ok "$IMG" "$MNT" --read-only
  assert_live "$MNT" 4194304
  cmp "$MNT/volume" "$TF_TMP/img.orig" || fail_msg "the volume does not read as the image"

  run dd if=/dev/zero of="$MNT/volume" bs=4096 count=1 conv=notrunc
  [ "$status" -ne 0 ] || fail_msg "a write to a read-only volume succeeded"
  [[ "$output" == *"Read-only file system"* || "$output" == *"Permission denied"* ]] || fail_msg "dd: $output"
  run truncate -s 4M "$MNT/volume"
  [ "$status" -ne 0 ] || fail_msg "truncate on a read-only volume succeeded"

  run --separate-stderr trackfs status "$MNT" --json
  assert_eq "$(json 'j.readOnly' <<< "$output")" true "readOnly"
  no_changes
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  cmp "$IMG" "$TF_TMP/img.orig" || fail_msg "the image changed under a read-only mount"
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.extents' <<< "$output")" "[]" "extents after unmount"
}
