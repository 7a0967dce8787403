#!/usr/bin/env bats
# A path a user gives can name a file that trackfs must never write: the source image, its volume,
# its journal, the backup target. Each is refused before anything is written, and the file is left
# byte-identical.

load helpers

SIZE=4194304

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
  write_at "$IMG" 65536 4096
}
teardown() { tf_teardown; }

digest() { sha256sum -- "$1" | cut -d' ' -f1; }

# An offline source: the image with a journal that has one change.
offline_source() {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 100
  run trackfs unmount "$MNT"
  assert_status 0
}

@test "backup --sidecar refuses the source image, its journal and TARGET (offline); all stay byte-identical" {
  offline_source
  local img_sum jnl_sum
  img_sum="$(digest "$IMG")"
  jnl_sum="$(digest "$IMG.trackfs")"
  ln -s "$IMG" "$TF_TMP/link-to-img"
  ln "$IMG" "$TF_TMP/hardlink-to-img"
  local sidecar
  for sidecar in "$IMG" "$IMG.trackfs" "$TF_TMP/link-to-img" "$TF_TMP/hardlink-to-img" "$TF_TMP/./img"; do
    run --separate-stderr trackfs backup "$IMG" "$TF_TMP/backup.img" --sidecar "$sidecar"
    assert_fails_with 1 "sidecar"
    [ ! -e "$TF_TMP/backup.img" ] || fail_msg "target created with --sidecar $sidecar"
  done
  assert_eq "$(digest "$IMG")" "$img_sum" "image digest"
  assert_eq "$(digest "$IMG.trackfs")" "$jnl_sum" "journal digest"
  [ -L "$TF_TMP/link-to-img" ] || fail_msg "the symlink was replaced"

  # TARGET itself as its own sidecar.
  truncate -s "$SIZE" "$TF_TMP/t.img"
  run --separate-stderr trackfs backup "$IMG" "$TF_TMP/t.img" --full --sidecar "$TF_TMP/t.img"
  assert_fails_with 1 "sidecar" "target"
  assert_eq "$(stat -c %s "$TF_TMP/t.img")" "$SIZE" "target size"
}

@test "backup --sidecar refuses the image, the volume and the journal of a live source; the mount keeps serving" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 100
  local img_sum jnl_size
  img_sum="$(digest "$IMG")"
  jnl_size="$(stat -c %s "$IMG.trackfs")"
  local sidecar
  for sidecar in "$IMG" "$MNT/volume" "$IMG.trackfs" "$MNT/state"; do
    run --separate-stderr trackfs backup "$MNT" "$TF_TMP/backup.img" --sidecar "$sidecar"
    assert_fails_with 1 "sidecar"
    [ ! -e "$TF_TMP/backup.img" ] || fail_msg "target created with --sidecar $sidecar"
  done
  assert_eq "$(digest "$IMG")" "$img_sum" "image digest"
  assert_eq "$(stat -c %s "$IMG.trackfs")" "$jnl_size" "journal size"
  assert_live "$MNT" "$SIZE"
  cmp "$IMG" "$MNT/volume" || fail_msg "volume and image differ"
  run --separate-stderr trackfs status "$MNT" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
}

@test "mount --log-file refuses the image, the journal and a path inside the mountpoint; nothing is mounted or written" {
  offline_source
  local img_sum jnl_sum
  img_sum="$(digest "$IMG")"
  jnl_sum="$(digest "$IMG.trackfs")"
  local log
  for log in "$IMG" "$IMG.trackfs" "$MNT/trackfs.log"; do
    tf_mount "$IMG" "$MNT" --log-file "$log"
    assert_fails_with 1 "log file"
    assert_not_mounted "$MNT"
    tf_mount "$IMG" "$MNT" --log-file "$log" --foreground
    assert_fails_with 1 "log file"
    assert_not_mounted "$MNT"
  done
  assert_eq "$(digest "$IMG")" "$img_sum" "image digest"
  assert_eq "$(digest "$IMG.trackfs")" "$jnl_sum" "journal digest"
  [ -z "$(ls -A "$MNT")" ] || fail_msg "something was created in the mountpoint"
}

@test "mount --log-file never follows a symlink, and creates the log 0600" {
  ln -s "$TF_TMP/victim" "$TF_TMP/log-link"
  echo keep > "$TF_TMP/victim"
  tf_mount "$IMG" "$MNT" --log-file "$TF_TMP/log-link"
  assert_fails_with 1 "log file" "symbolic link"
  assert_not_mounted "$MNT"
  assert_eq "$(cat "$TF_TMP/victim")" keep "victim"

  umask 022
  tf_mount_ok "$IMG" "$MNT" --log-file "$TF_TMP/new.log"
  assert_eq "$(stat -c %a "$TF_TMP/new.log")" 600 "log mode"
  [ -s "$TF_TMP/new.log" ] || fail_msg "nothing logged"
}
