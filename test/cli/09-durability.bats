#!/usr/bin/env bats
# Ordered mode and the durability record, as a user sees them (issue 14).

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

# kill_daemon: SIGKILL to the daemon of $MNT, and the mount gone.
kill_daemon() {
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  kill -KILL "$pid"
  wait_for_exit "$pid" 10 || fail_msg "daemon $pid survived SIGKILL"
  if ! wait_unmounted "$MNT" 5; then
    run --separate-stderr trackfs unmount "$MNT"
  fi
  assert_not_mounted "$MNT"
}

@test "ordered, kill -9: trusted offline; a damaged durability record or a state directory others control makes it untrusted, saying why" {
  tf_mount_ok "$IMG" "$MNT" --durability ordered
  write_at "$MNT/volume" 65536 4096
  local gen
  gen="$(trackfs changes "$MNT" --json | json 'j.generation')"
  [ "$(stat -c %a "$TRACKFS_STATE_DIR")" = 700 ] || fail_msg "the state directory is not 0700"
  kill_daemon

  run --separate-stderr trackfs status "$IMG.trackfs"
  assert_status 0
  [[ "$output" == *"trusted      yes"* ]] || fail_msg "a kill -9 alone is trusted: $output"
  [[ "$output" == *"no durability loss recorded"* ]] || fail_msg "status does not say why it is trusted: $output"

  printf 'half a record' > "$TRACKFS_STATE_DIR/$gen.loss"
  run --separate-stderr trackfs status "$IMG.trackfs"
  assert_status 0
  [[ "$output" == *"trusted      NO: the record of a durability loss of this journal ($TRACKFS_STATE_DIR/$gen.loss) is damaged"* ]] || fail_msg "status: $output"
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  assert_eq "$(json 'JSON.stringify(j.extents)' <<< "$output")" '[{"offset":0,"length":4194304}]' "extents"
  [[ "$stderr" == *"damaged"* ]] || fail_msg "no warning on stderr: $stderr"
  assert_no_stack

  rm -- "$TRACKFS_STATE_DIR/$gen.loss"
  chmod 755 "$TRACKFS_STATE_DIR"
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted with a state directory others could change"
  [[ "$(json 'j.reason' <<< "$output")" == *"cannot be checked ($TRACKFS_STATE_DIR is open to other users (owner uid "*", mode 0755)"* ]] || fail_msg "reason: $output"

  chmod 700 "$TRACKFS_STATE_DIR"
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted once the state directory is private again"
  assert_eq "$(clusters_of 65536 <<< "$output")" 1 "clusters"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
}

@test "ordered: a state directory that is a symbolic link is never used; the mount works and status says so" {
  mkdir -m 700 "$TF_TMP/real-state"
  ln -s "$TF_TMP/real-state" "$TF_TMP/state-link"
  TRACKFS_STATE_DIR="$TF_TMP/state-link" tf_mount_ok "$IMG" "$MNT" --durability ordered
  run --separate-stderr trackfs status "$MNT"
  assert_status 0
  [[ "$output" == *"state dir    durability records cannot be kept: $TF_TMP/state-link is a symbolic link"* ]] || fail_msg "status: $output"
  write_at "$MNT/volume" 0 4096
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  [ -z "$(ls -A "$TF_TMP/real-state")" ] || fail_msg "something was written through the symbolic link"
}
