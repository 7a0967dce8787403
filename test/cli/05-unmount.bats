#!/usr/bin/env bats
# Taking a mount down: busy volume, --lazy, something that is not a mount, signals.
# The volume is held open on fd 8 (bats keeps fd 3 for its own output).

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

@test "unmount with the volume open fails and names --lazy; --lazy then detaches it" {
  tf_mount_ok "$IMG" "$MNT"
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  exec 8<> "$MNT/volume"

  run --separate-stderr trackfs unmount "$MNT"
  assert_fails_with 1 "--lazy"
  # The mount still works, through the open descriptor and by path.
  assert_live "$MNT" 4194304
  assert_eq "$(dd if="$MNT/volume" bs=4096 count=1 status=none | wc -c)" 4096 "bytes read"
  dd if=/dev/zero of=/dev/fd/8 bs=4096 seek=2 count=1 conv=notrunc status=none
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" 0 "clusters"
  run --separate-stderr trackfs status "$MNT" --json
  assert_eq "$(json 'j.state' <<< "$output")" active "state"

  run --separate-stderr trackfs unmount --lazy "$MNT"
  assert_status 0
  assert_not_mounted "$MNT"
  wait_for_exit "$pid" 10 || fail_msg "daemon $pid did not exit"

  # Later I/O on the descriptor fails.
  run dd if=/dev/zero of=/dev/fd/8 bs=4096 count=1 conv=notrunc
  [ "$status" -ne 0 ] || fail_msg "a write through the detached descriptor succeeded"
  run cat <&8
  [ "$status" -ne 0 ] || fail_msg "a read through the detached descriptor succeeded"
  exec 8>&-

  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.journalState' <<< "$output")" clean "journalState"
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" 0 "clusters after the lazy unmount"
}

@test "unmount of a directory that is not a mount: 'not a trackfs mountpoint', exit 1" {
  mkdir "$TF_TMP/plain"
  run --separate-stderr trackfs unmount "$TF_TMP/plain"
  assert_fails_with 1 "not a trackfs mountpoint"
  run --separate-stderr trackfs unmount --lazy "$TF_TMP/plain"
  assert_fails_with 1 "not a trackfs mountpoint"
}

@test "unmount of a tmpfs mount refuses and leaves it mounted" {
  local tm
  tm="$(tf_mountpoint tm)"
  tf_tmpfs "$tm"
  run --separate-stderr trackfs unmount "$tm"
  assert_fails_with 1 "not a trackfs mountpoint"
  assert_eq "$(mount_fstype "$tm")" tmpfs "fs type at $tm"
}

@test "unmount of a path that does not exist: exit 1, one line" {
  run --separate-stderr trackfs unmount "$TF_TMP/nowhere"
  assert_fails_with 1 "does not exist"
}

@test "unmount twice: the second one says it is not a mount" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  run --separate-stderr trackfs unmount "$MNT"
  assert_fails_with 1 "not a trackfs mountpoint"
}

@test "SIGTERM to the daemon: mount gone, journal clean" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 131072 512
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  [ -n "$pid" ] || fail_msg "no pid from status --json"
  kill -TERM "$pid"
  wait_for_exit "$pid" 15 || fail_msg "daemon $pid did not exit on SIGTERM"
  wait_unmounted "$MNT" 10 || fail_msg "the mount is still there after SIGTERM"
  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.journalState' <<< "$output")" clean "journalState"
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" 2 "clusters"
}

@test "SIGKILL to the daemon: mount goes away, the next mount recovers the history" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 196608 512
  local pid gen
  pid="$(tf_daemon_pid "$MNT")"
  gen="$(trackfs changes "$MNT" --json | json 'j.generation')"
  kill -KILL "$pid"
  wait_for_exit "$pid" 10 || fail_msg "daemon $pid survived SIGKILL"
  # auto_unmount takes the mount away; if it does not, unmount must be able to.
  if ! wait_unmounted "$MNT" 5; then
    run --separate-stderr trackfs unmount "$MNT"
    assert_status 0
  fi
  assert_not_mounted "$MNT"

  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.journalState' <<< "$output")" active "journalState (left active by the crash)"

  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 3 "clusters"
  assert_eq "$(json 'j.generation' <<< "$output")" "$gen" "generation"
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted (strict mode)"
}

@test "unmount --timeout must be a number of seconds: exit 2, one line, nothing unmounted" {
  local img mnt
  img="$(tf_image img 4M)"
  mnt="$(tf_mountpoint mnt)"
  tf_mount_ok "$img" "$mnt"
  local bad
  for bad in abc NaN -1 0 '' 1e400 ' ' 5x; do
    run --separate-stderr trackfs unmount --timeout "$bad" "$mnt"
    assert_fails_with 2 "--timeout"
    assert_live "$mnt" 4194304
  done
  run --separate-stderr trackfs unmount --timeout 2.5 "$mnt"
  assert_status 0
  assert_not_mounted "$mnt"
}
