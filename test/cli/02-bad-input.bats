#!/usr/bin/env bats
# Bad input to `trackfs mount`: each fails with a non-zero exit, one line naming the problem, no
# stack trace, and leaves nothing mounted.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

@test "missing image" {
  tf_mount "$TF_TMP/no-such-image" "$MNT"
  assert_fails_with 1 "no-such-image" "does not exist"
  assert_not_mounted "$MNT"
  [ ! -e "$TF_TMP/no-such-image.trackfs" ] || fail_msg "a journal was created for a missing image"
}

@test "image is a directory" {
  mkdir "$TF_TMP/imgdir"
  tf_mount "$TF_TMP/imgdir" "$MNT"
  assert_fails_with 1 "imgdir" "not a regular file or a block device"
  assert_not_mounted "$MNT"
}

@test "image is empty (0 bytes)" {
  : > "$TF_TMP/empty.img"
  tf_mount "$TF_TMP/empty.img" "$MNT"
  assert_fails_with 1 "empty.img" "is empty"
  assert_not_mounted "$MNT"
}

@test "mountpoint missing" {
  tf_mount "$IMG" "$TF_TMP/no-such-dir"
  assert_fails_with 1 "no-such-dir" "does not exist"
  [ ! -e "$TF_TMP/no-such-dir" ] || fail_msg "the mountpoint was created"
}

@test "mountpoint is a regular file" {
  : > "$TF_TMP/plainfile"
  tf_mount "$IMG" "$TF_TMP/plainfile"
  assert_fails_with 1 "plainfile" "not a directory"
  assert_not_mounted "$TF_TMP/plainfile"
}

@test "mountpoint not empty" {
  local full
  full="$(tf_mountpoint full)"
  : > "$full/somefile"
  tf_mount "$IMG" "$full"
  assert_fails_with 1 "full" "not empty"
  assert_not_mounted "$full"
  [ -f "$full/somefile" ] || fail_msg "the directory's content is gone"
}

@test "mountpoint already mounted: mount twice on the same dir" {
  tf_mount_ok "$IMG" "$MNT"
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  tf_mount "$IMG" "$MNT"
  assert_fails_with 1 "already mounted"
  # The first mount is untouched.
  assert_live "$MNT" 4194304
  assert_eq "$(tf_daemon_pid "$MNT")" "$pid" "daemon pid"
  # Another image with the first one's journal over the same live mount: still refused.
  local other
  other="$(tf_image other 8M)"
  tf_mount "$other" "$MNT" --journal "$IMG.trackfs"
  assert_fails_with 1 "already mounted"
  assert_live "$MNT" 4194304
}

@test "mountpoint already mounted: a tmpfs mount" {
  local tm
  tm="$(tf_mountpoint tm)"
  tf_tmpfs "$tm"
  tf_mount "$IMG" "$tm"
  assert_fails_with 1 "already mounted" "tmpfs"
  assert_eq "$(mount_fstype "$tm")" tmpfs "fs type at $tm"
}

@test "journal of another image: refused with a hint to --reset-journal, which then works" {
  local j="$TF_TMP/shared.trackfs" b
  tf_mount_ok "$IMG" "$MNT" --journal "$j"
  write_at "$MNT/volume" 0 4096
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  cp "$j" "$TF_TMP/shared.orig"

  b="$(tf_image imgB 8M)"
  tf_mount "$b" "$MNT" --journal "$j"
  assert_fails_with 1 "--reset-journal" "4194304" "8388608"
  assert_not_mounted "$MNT"
  cmp -s "$j" "$TF_TMP/shared.orig" || fail_msg "the refused mount changed the journal"

  tf_mount "$b" "$MNT" --journal "$j" --reset-journal
  assert_status 0
  assert_live "$MNT" 8388608
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.imageSize' <<< "$output")" 8388608 "imageSize"
  assert_eq "$(json 'j.extents.length' <<< "$output")" 0 "extents"
}

@test "bad cluster sizes: exit 2, one line, nothing mounted or created" {
  local cs
  for cs in 3K abc 128M 2K 0 -64K; do
    tf_mount "$IMG" "$MNT" --cluster-size="$cs"
    assert_fails_with 2 "cluster size" "$cs"
    assert_not_mounted "$MNT"
  done
  [ ! -e "$IMG.trackfs" ] || fail_msg "a journal was created"
}

@test "bad --mark-ahead values: exit 2, one line, nothing mounted or created" {
  local v
  for v in 1Q abc -1M 65M 1T; do
    tf_mount "$IMG" "$MNT" --mark-ahead="$v"
    assert_fails_with 2 "mark-ahead" "$v"
    assert_not_mounted "$MNT"
  done
  [ ! -e "$IMG.trackfs" ] || fail_msg "a journal was created"
}

@test "a file of garbage as --journal: refused and left untouched, even with --reset-journal" {
  local g="$TF_TMP/garbage.bin"
  head -c 20000 /dev/urandom > "$g"
  cp "$g" "$TF_TMP/garbage.orig"
  tf_mount "$IMG" "$MNT" --journal "$g"
  assert_fails_with 1 "not a trackfs journal"
  assert_not_mounted "$MNT"
  cmp "$g" "$TF_TMP/garbage.orig" || fail_msg "the garbage file changed"

  tf_mount "$IMG" "$MNT" --journal "$g" --reset-journal
  assert_fails_with 1 "not a trackfs journal"
  assert_not_mounted "$MNT"
  cmp "$g" "$TF_TMP/garbage.orig" || fail_msg "the garbage file changed under --reset-journal"

  # Offline readers say the same, and do not write either.
  run --separate-stderr trackfs status "$g"
  assert_fails_with 1 "not a trackfs journal"
  run --separate-stderr trackfs changes "$g" --json
  assert_fails_with 1 "not a trackfs journal"
  cmp "$g" "$TF_TMP/garbage.orig" || fail_msg "an offline reader changed the garbage file"
}

@test "a small non-journal file (shorter than a header) is not overwritten either" {
  local g="$TF_TMP/notes.txt"
  echo "my precious notes" > "$g"
  cp "$g" "$TF_TMP/notes.orig"
  tf_mount "$IMG" "$MNT" --journal "$g" --reset-journal
  assert_fails_with 1 "not a trackfs journal"
  cmp "$g" "$TF_TMP/notes.orig" || fail_msg "the file changed"
}

@test "a journal whose header checksum is broken: 'corrupt', exit 1; --reset-journal recovers" {
  local j="$IMG.trackfs"
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 65536 100
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  flip_byte "$j" 20
  flip_byte "$j" 4116
  cp "$j" "$TF_TMP/j.broken"

  tf_mount "$IMG" "$MNT"
  assert_fails_with 1 "corrupt" "--reset-journal"
  assert_not_mounted "$MNT"
  cmp -s "$j" "$TF_TMP/j.broken" || fail_msg "the refused mount changed the journal"

  run --separate-stderr trackfs status "$j"
  assert_fails_with 1 "corrupt"
  run --separate-stderr trackfs changes "$j" --json
  assert_fails_with 1 "corrupt"

  tf_mount "$IMG" "$MNT" --reset-journal
  assert_status 0
  assert_live "$MNT" 4194304
  run --separate-stderr trackfs status "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
  assert_eq "$(json 'j.changedClusters' <<< "$output")" 0 "changedClusters"
}

@test "--cluster-size different from the existing journal's: refused with a message" {
  tf_mount_ok "$IMG" "$MNT" --cluster-size 4K
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0

  tf_mount "$IMG" "$MNT" --cluster-size 1M
  assert_fails_with 1 "cluster size" "4K" "1M" "--reset-journal"
  assert_not_mounted "$MNT"

  # The journal's own size, named or not, is fine.
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs status "$MNT" --json
  assert_eq "$(json 'j.clusterSize' <<< "$output")" 4096 "clusterSize"
}

@test "a block device without --journal: exit 2" {
  local dev
  dev="$(tf_loop "$IMG")" || skip "no loop device available"
  tf_mount "$dev" "$MNT"
  assert_fails_with 2 "--journal" "block device"
  assert_not_mounted "$MNT"

  # With --journal it mounts, with the device's size.
  tf_mount "$dev" "$MNT" --journal "$TF_TMP/dev.trackfs"
  assert_status 0
  assert_live "$MNT" 4194304
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
}
