#!/usr/bin/env bats
# eject (query-remove) and resume (cancel-remove) as a user types them.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

@test "eject: mount stays, I/O fails with an I/O error, journal closed clean; resume: I/O works, same generation" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 4096
  local gen
  gen="$(trackfs changes "$MNT" --json | json 'j.generation')"

  run --separate-stderr trackfs eject "$MNT"
  assert_status 0
  [[ "$output" == *ejected* ]] || fail_msg "eject did not say it ejected"
  assert_live "$MNT" 4194304
  run --separate-stderr trackfs status "$MNT" --json
  assert_eq "$(json 'j.state' <<< "$output")" ejected "state"
  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_eq "$(json 'j.journalState' <<< "$output")" clean "journal state while ejected"

  assert_eq "$(io_errno write "$MNT/volume" 409600 4096)" EIO "a write while ejected"
  assert_eq "$(io_errno read "$MNT/volume" 0 4096)" EIO "a read while ejected"

  run --separate-stderr trackfs resume "$MNT"
  assert_status 0
  [[ "$output" == *resumed* ]] || fail_msg "resume did not say it resumed"
  write_at "$MNT/volume" $((3 * 65536)) 10
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(json 'j.generation' <<< "$output")" "$gen" "generation after resume"
  assert_eq "$(clusters_of 65536 <<< "$output")" "0 3" "clusters"
}

@test "eject and resume are idempotent, and refuse what is not a mount" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs resume "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.state' <<< "$output")" active "resume of an active mount"
  trackfs eject "$MNT" >/dev/null
  run --separate-stderr trackfs eject "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.state' <<< "$output")" ejected "second eject"

  local dir="$TF_TMP/plain"
  mkdir "$dir"
  run --separate-stderr trackfs eject "$dir"
  assert_fails_with 1 "not a trackfs mountpoint"
  run --separate-stderr trackfs resume "$IMG.trackfs"
  assert_fails_with 1 "take a trackfs mountpoint"
}

@test "an ejected mount unmounts cleanly" {
  tf_mount_ok "$IMG" "$MNT"
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  write_at "$MNT/volume" 65536 100
  trackfs eject "$MNT" >/dev/null
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  assert_not_mounted "$MNT"
  wait_for_exit "$pid" 10 || fail_msg "daemon $pid did not exit"
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" "1" "clusters"
}
