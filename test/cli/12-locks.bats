#!/usr/bin/env bats
# One image, one journal, one mount: held by locks (flock) for the life of a mount, not guessed
# from a pid or a process name.

load helpers

SIZE=4194304

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
  MNT2="$(tf_mountpoint mnt2)"
}
teardown() { tf_teardown; }

# same_image_twice: the image is mounted; a second mount of it with another journal is refused.
same_image_twice() {
  tf_mount_ok "$IMG" "$MNT"
  tf_mount "$IMG" "$MNT2" --journal "$TF_TMP/other.trackfs"
  assert_fails_with 1 "image $IMG is in use"
  assert_not_mounted "$MNT2"
  [ ! -e "$TF_TMP/other.trackfs" ] || fail_msg "the refused mount created its journal"
  assert_live "$MNT" "$SIZE"
  # A read-only mount of it is refused too: it would serve data the first one is changing.
  tf_mount "$IMG" "$MNT2" --journal "$TF_TMP/other.trackfs" --read-only
  assert_fails_with 1 "image $IMG is in use"
}

@test "the same image cannot be mounted twice with two journals (native lock)" {
  same_image_twice
}

@test "the same image cannot be mounted twice with two journals (flock(1) fallback, no addon)" {
  export TRACKFS_NATIVE=0
  same_image_twice
}

@test "a journal another mount holds is refused with the holder's pid" {
  truncate -s 4M "$TF_TMP/img2"
  tf_mount_ok "$IMG" "$MNT"
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  tf_mount "$TF_TMP/img2" "$MNT2" --journal "$IMG.trackfs"
  assert_fails_with 1 "journal $IMG.trackfs is in use by trackfs (pid $pid)"
  assert_not_mounted "$MNT2"
  # Offline readers see it is live; an offline checkpoint is refused.
  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.inUse' <<< "$output")" true "inUse"
  assert_eq "$(json 'j.liveOwner' <<< "$output")" "$pid" "liveOwner"
  run --separate-stderr trackfs checkpoint "$IMG.trackfs"
  assert_fails_with 1 "in use by trackfs (pid $pid)"
}

@test "'in use' comes from the lock: any process holding it keeps a mount out, a pid in the header alone does not" {
  # A journal left active by a daemon that died, whose pid now belongs to a process whose command
  # line says "trackfs": it is not in use, and a mount recovers it.
  tf_helper bash -c 'sleep 300; : trackfs' trackfs-decoy
  local decoy=$TF_HELPER_PID
  node "$TF_ROOT/test/cli/make-journal.mjs" "$IMG.trackfs" "$SIZE" "$IMG" --active-pid "$decoy"
  grep -q trackfs "/proc/$decoy/cmdline" || fail_msg "the decoy's command line does not say trackfs"
  tf_mount "$IMG" "$MNT"
  assert_status 0
  assert_live "$MNT" "$SIZE"
  run trackfs unmount "$MNT"
  assert_status 0

  # A lock held by anyone (here flock(1)) is "in use", whatever the header says (clean, pid 0).
  tf_helper flock -x "$IMG.trackfs" sleep 300
  local i
  for ((i = 0; i < 50; i++)); do ! flock -n -x "$IMG.trackfs" true && break; sleep 0.1; done
  tf_mount "$IMG" "$MNT"
  assert_fails_with 1 "journal $IMG.trackfs is in use"
  assert_not_mounted "$MNT"
}

@test "resume after eject takes the image lock again: refused while another mount has the image" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs eject "$MNT"
  assert_status 0
  tf_mount_ok "$IMG" "$MNT2" --journal "$TF_TMP/other.trackfs"
  run --separate-stderr trackfs resume "$MNT"
  assert_fails_with 1 "image $IMG is in use"
  run --separate-stderr trackfs status "$MNT" --json
  assert_eq "$(json 'j.state' <<< "$output")" ejected "state of the first mount"
  run trackfs unmount "$MNT2"
  assert_status 0
  run --separate-stderr trackfs resume "$MNT"
  assert_status 0
  assert_live "$MNT" "$SIZE"
}
