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
  assert_eq "$(io_errno write "$MNT/volume" 4194304 4096)" ENOSPC "a write at the end"
  assert_eq "$(io_errno write "$MNT/volume" $((5000 * 4096)) 4096)" ENOSPC "a write beyond the end"
  assert_eq "$(stat -c %s "$MNT/volume")" 4194304 "volume size"
  assert_eq "$(stat -c %s "$IMG")" 4194304 "image size"
  no_changes
}

@test "a write straddling the end writes what fits, then fails with ENOSPC" {
  tf_mount_ok "$IMG" "$MNT"
  assert_eq "$(io_errno write "$MNT/volume" $((1023 * 4096)) 8192)" ENOSPC "a write across the end, after the part that fits"
  assert_eq "$(stat -c %s "$IMG")" 4194304 "image size"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" 63 "clusters"
}

@test "truncate to another size fails; to the same size succeeds" {
  tf_mount_ok "$IMG" "$MNT"
  assert_eq "$(io_errno truncate "$MNT/volume" 8388608)" EINVAL "growing the volume"
  assert_eq "$(io_errno truncate "$MNT/volume" 1048576)" EINVAL "shrinking the volume"
  assert_eq "$(io_errno truncate "$MNT/volume" 0)" EINVAL "emptying the volume"
  run truncate -s 4M "$MNT/volume"
  assert_status 0
  assert_eq "$(stat -c %s "$MNT/volume")" 4194304 "volume size"
  assert_eq "$(stat -c %s "$IMG")" 4194304 "image size"
  no_changes
}

@test "no new files, no removal, no rename, no directories" {
  tf_mount_ok "$IMG" "$MNT"
  assert_eq "$(io_errno create "$MNT/newfile")" EPERM "a new file"
  assert_eq "$(io_errno unlink "$MNT/volume")" EPERM "removing the volume"
  assert_eq "$(io_errno rename "$MNT/volume" "$MNT/renamed")" EPERM "renaming the volume"
  assert_eq "$(io_errno mkdir "$MNT/dir")" EPERM "a directory"
  assert_eq "$(io_errno symlink "$MNT/link" volume)" EPERM "a symbolic link"
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

  assert_eq "$(io_errno write "$MNT/volume" 0 4096)" EROFS "a write to a read-only volume"
  assert_eq "$(io_errno truncate "$MNT/volume" 4194304)" EROFS "a truncate of a read-only volume"

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
