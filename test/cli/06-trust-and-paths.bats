#!/usr/bin/env bats
# An image changed behind trackfs's back, and paths a shell would mangle.

load helpers

setup() { tf_setup; }
teardown() { tf_teardown; }

@test "image modified while unmounted: journal untrusted, whole image reported, warning on stderr" {
  local img mnt
  img="$(tf_image img 4M)"
  mnt="$(tf_mountpoint mnt)"
  tf_mount_ok "$img" "$mnt"
  write_at "$mnt/volume" 65536 100
  run --separate-stderr trackfs unmount "$mnt"
  assert_status 0

  touch -d '2001-02-03 04:05:06' "$img"

  tf_mount "$img" "$mnt"
  assert_status 0
  assert_live "$mnt" 4194304

  run --separate-stderr trackfs changes "$mnt" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  [[ "$(json 'j.reason' <<< "$output")" == *"image was modified"* ]] || fail_msg "reason does not say the image was modified"
  assert_eq "$(json 'JSON.stringify(j.extents)' <<< "$output")" '[{"offset":0,"length":4194304}]' "extents"
  assert_eq "$(json 'j.changedBytes' <<< "$output")" 4194304 "changedBytes"
  assert_no_stack
  assert_eq "${#stderr_lines[@]}" 1 "warning lines on stderr"
  [[ "${stderr_lines[0]}" == "trackfs: warning: "*"untrusted"* ]] || fail_msg "no untrusted warning"
  [[ "$stderr" == *"image was modified"* ]] || fail_msg "the warning does not say why"

  run --separate-stderr trackfs changes "$mnt"
  assert_status 0
  [[ "${lines[${#lines[@]} - 1]}" == *"UNTRUSTED: "*"image was modified"* ]] || fail_msg "summary does not say UNTRUSTED"

  run --separate-stderr trackfs status "$mnt" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" false "status trusted"

  # It stays untrusted across a clean unmount, until --reset-journal.
  run --separate-stderr trackfs unmount "$mnt"
  assert_status 0
  run --separate-stderr trackfs changes "$img.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted after unmount"
  [[ "$stderr" == "trackfs: warning: "* ]] || fail_msg "no warning from the offline reader"

  tf_mount_ok "$img" "$mnt" --reset-journal
  run --separate-stderr trackfs changes "$mnt" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted after --reset-journal"
  assert_eq "$(json 'j.extents' <<< "$output")" "[]" "extents after --reset-journal"
  assert_eq "$stderr" "" "stderr"
}

@test "paths with spaces and shell syntax work and are never executed" {
  local tag="pwned-$$-$RANDOM"
  local dir="$TF_TMP/dir with spaces \$(touch $tag) \`touch $tag-bt\`"
  mkdir -p "$dir"
  local img="$dir/my image \$(touch $tag).img"
  local mnt
  mnt="$(tf_mountpoint "dir with spaces \$(touch $tag) \`touch $tag-bt\`/mount point \$(touch $tag) ;touch $tag-semi")"
  truncate -s 4M "$img"

  tf_mount "$img" "$mnt"
  assert_status 0
  assert_live "$mnt" 4194304
  dd if=/dev/urandom of="$mnt/volume" bs=4096 seek=40 count=1 conv=notrunc status=none
  cmp "$img" "$mnt/volume" || fail_msg "volume and image differ"

  run --separate-stderr trackfs changes "$mnt" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 2 "clusters"
  run --separate-stderr trackfs status "$mnt" --json
  assert_status 0
  assert_eq "$(json 'j.mountpoint' <<< "$output")" "$mnt" "mountpoint"
  assert_eq "$(json 'j.image' <<< "$output")" "$img" "image"
  assert_eq "$(json 'j.journal' <<< "$output")" "$img.trackfs" "journal"

  # Busy, then lazy: both unmount paths go through fusermount with this path.
  exec 8< "$mnt/volume"
  run --separate-stderr trackfs unmount "$mnt"
  assert_fails_with 1 "--lazy"
  run --separate-stderr trackfs unmount --lazy "$mnt"
  assert_status 0
  exec 8<&-
  assert_not_mounted "$mnt"

  # Mount again and take it down by SIGTERM (the daemon's own unmount).
  tf_mount_ok "$img" "$mnt"
  local pid
  pid="$(tf_daemon_pid "$mnt")"
  kill -TERM "$pid"
  wait_for_exit "$pid" 15 || fail_msg "daemon did not exit on SIGTERM"
  wait_unmounted "$mnt" 10 || fail_msg "still mounted after SIGTERM"

  run --separate-stderr trackfs changes "$img.trackfs" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 2 "clusters offline"

  local f
  for f in "$TF_TMP/$tag" "$TF_TMP/$tag-bt" "$TF_TMP/$tag-semi" "$HOME/$tag" "/$tag" "/tmp/$tag"; do
    [ ! -e "$f" ] || fail_msg "$f exists: a path was run through a shell"
  done
}
