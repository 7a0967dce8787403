#!/usr/bin/env bats
# Help and command-line usage errors: nothing here mounts anything.

load helpers

setup() { tf_setup; }
teardown() { tf_teardown; }

@test "trackfs --help exits 0 and lists the commands" {
  run --separate-stderr trackfs --help
  assert_status 0
  local c
  for c in mount unmount status changes; do
    [[ "$output" == *"trackfs $c "* ]] || fail_msg "--help does not list '$c'"
  done
  [[ "$output" == *umount* ]] || fail_msg "--help does not mention the umount alias"
  assert_eq "$stderr" "" "stderr of --help"
}

@test "trackfs mount --help describes the mount options" {
  run --separate-stderr trackfs mount --help
  assert_status 0
  local o
  for o in --journal --cluster-size --durability --read-only --allow-other --reset-journal --foreground --log-level --log-file; do
    [[ "$output" == *"$o"* ]] || fail_msg "mount --help does not list $o"
  done
}

@test "no command: exit 2, one line" {
  run --separate-stderr trackfs
  assert_fails_with 2 "command"
}

@test "unknown command: exit 2, one line naming it" {
  run --separate-stderr trackfs frobnicate
  assert_fails_with 2 "unknown" "frobnicate"
}

@test "unknown command close to a real one: exit 2, one line naming it" {
  run --separate-stderr trackfs mnt a b
  assert_fails_with 2 "unknown" "mnt"
}

@test "unknown option: exit 2, one line naming it" {
  run --separate-stderr trackfs mount a b --bogus
  assert_fails_with 2 "unknown" "bogus"
  run --separate-stderr trackfs status x --json --frob=1
  assert_fails_with 2 "unknown" "frob"
  run --separate-stderr trackfs unmount x --lazy --nope
  assert_fails_with 2 "unknown" "nope"
}

@test "unknown option before the arguments: exit 2, one line" {
  run --separate-stderr trackfs mount --bogus a b
  assert_status 2
  assert_one_error_line
}

@test "too many arguments: exit 2, one line" {
  run --separate-stderr trackfs mount a b c
  assert_fails_with 2 "c"
}

@test "invalid choice for --durability: exit 2, one line" {
  run --separate-stderr trackfs mount a b --durability lax
  assert_fails_with 2 "durability" "lax"
}

@test "missing arguments: exit 2, one line each" {
  run --separate-stderr trackfs mount
  assert_fails_with 2 "arguments"
  run --separate-stderr trackfs mount only-an-image
  assert_fails_with 2 "arguments"
  run --separate-stderr trackfs unmount
  assert_fails_with 2 "arguments"
  run --separate-stderr trackfs umount
  assert_fails_with 2 "arguments"
  run --separate-stderr trackfs status
  assert_fails_with 2 "arguments"
  run --separate-stderr trackfs changes
  assert_fails_with 2 "arguments"
}

@test "usage errors have no side effects" {
  run --separate-stderr trackfs mount "$TF_TMP/img" "$TF_TMP/mnt" --bogus
  assert_status 2
  [ ! -e "$TF_TMP/img.trackfs" ] || fail_msg "a journal was created"
  [ -z "$(ls -A "$TRACKFS_RUNTIME_DIR")" ] || fail_msg "the runtime dir was written to"
}

@test "status/changes of a path that does not exist: exit 1, one line" {
  run --separate-stderr trackfs status "$TF_TMP/nothing-here"
  assert_fails_with 1 "does not exist"
  run --separate-stderr trackfs changes "$TF_TMP/nothing-here" --json
  assert_fails_with 1 "does not exist"
  assert_eq "$output" "" "stdout"
}

@test "status/changes of a directory that is not a mount: exit 1, one line" {
  mkdir "$TF_TMP/plain"
  run --separate-stderr trackfs status "$TF_TMP/plain"
  assert_fails_with 1 "not a trackfs mountpoint"
  run --separate-stderr trackfs changes "$TF_TMP/plain"
  assert_fails_with 1 "not a trackfs mountpoint"
}

@test "options run together are not split into flags: 'mount ok.img -dash' is a usage error, nothing mounted" {
  local img mnt
  img="$(tf_image ok.img 4M)"
  mnt="$(tf_mountpoint mnt)"
  run --separate-stderr trackfs mount "$img" -dash
  assert_fails_with 2
  assert_eq "$output" "" "stdout"
  run --separate-stderr trackfs mount "$img" "$mnt" -dash
  assert_fails_with 2 "dash"
  assert_not_mounted "$mnt"
  [ ! -e "$img.trackfs" ] || fail_msg "a journal was created"
  # Single-letter options still work.
  run --separate-stderr trackfs -h
  assert_status 0
}
