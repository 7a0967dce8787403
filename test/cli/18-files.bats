#!/usr/bin/env bats
# `changes --files` as a user types it: the files of an ext4 file system behind the changes, in
# the table and with --json; one line and exit 4 when there is no ext file system.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 64M)"
  MNT="$(tf_mountpoint mnt)"
  FS="$TF_TMP/fs"
  mkdir "$FS"
}
teardown() {
  if grep -q " $FS " /proc/self/mountinfo; then umount -l "$FS"; fi
  tf_teardown
}

@test "changes --files names the files written since a checkpoint (live and offline)" {
  command -v debugfs > /dev/null || skip "e2fsprogs is not installed"
  tf_mount_ok "$IMG" "$MNT" --cluster-size 4K --mark-ahead 0
  mkfs.ext4 -q -b 4096 "$MNT/volume"
  mount -o loop "$MNT/volume" "$FS"
  head -c 40000 /dev/urandom > "$FS/kept"
  head -c 40000 /dev/urandom > "$FS/changed"
  umount "$FS"
  CP="$(trackfs checkpoint "$MNT")"
  mount -o loop "$MNT/volume" "$FS"
  dd if=/dev/urandom of="$FS/changed" bs=4096 seek=3 count=2 conv=notrunc,fsync status=none
  umount "$FS"

  run --separate-stderr trackfs changes "$MNT" --since "$CP" --files
  assert_status 0
  [[ "$output" == *"ext4 file system, blocks of 4096 bytes; read from the live volume: best effort"* ]] || fail_msg "no file system line"
  grep -Eq '^ *8 KiB  file +/changed$' <<< "$output" || fail_msg "/changed (8 KiB) not listed"
  ! grep -q '/kept' <<< "$output" || fail_msg "/kept listed though unchanged"
  grep -q 'metadata    inode table' <<< "$output" || fail_msg "no inode table"

  trackfs unmount "$MNT"
  run --separate-stderr trackfs changes "$IMG.trackfs" --since "$CP" --files --json
  assert_status 0
  assert_eq "$(json 'j.files.entries.filter((e) => e.kind === "file").map((e) => e.name + ":" + e.bytes).join(" ")' <<< "$output")" "/changed:8192"
  assert_eq "$(json 'j.files.live' <<< "$output")" false
}

@test "changes --files on something that is not ext: one line, exit 4, offsets all the same" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 4096
  run --separate-stderr trackfs changes "$MNT" --files
  assert_fails_with 4 "--files" "no ext2/3/4 file system"
  [[ "${lines[-1]}" == "1 extent(s), 64 KiB of 64 MiB"* ]] || fail_msg "no offsets"
  run --separate-stderr trackfs changes "$MNT" --files --format bmap
  assert_fails_with 2 "--files"
}
