#!/usr/bin/env bats
# `trackfs run IMAGE [options] [--json] -- COMMAND [ARGS...]` as a user types it: one step from an
# image to what COMMAND wrote; COMMAND's exit status; 125 when trackfs itself fails; signals reach
# COMMAND; a volume left open is detached lazily, never a hang; nothing is left behind.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 32M)"
  # run's private directory goes under the test's own temp dir, where teardown can see it.
  export TMPDIR="$TF_TMP/tmp"
  mkdir -m 700 "$TMPDIR"
}
teardown() {
  local m
  for m in "$TMPDIR"/trackfs-run-*/mnt; do [ -d "$m" ] && printf '%s\n' "$m" >> "$TF_TMP/.state/mounts"; done
  tf_teardown
}

# Nothing of a run is left: no mount of ours, no private directory.
assert_cleaned_up() {
  ! grep -q "$TMPDIR" /proc/self/mountinfo || fail_msg "a mount under $TMPDIR is left: $(grep "$TMPDIR" /proc/self/mountinfo)"
  [ -z "$(ls -A "$TMPDIR")" ] || fail_msg "left in $TMPDIR: $(ls -A "$TMPDIR")"
}

@test "run IMAGE -- mkfs.ext4 -q {} works as typed and prints what mkfs wrote" {
  command -v mkfs.ext4 > /dev/null || skip "mkfs.ext4 is not installed"
  run --separate-stderr trackfs run "$IMG" --cluster-size 4K -- mkfs.ext4 -q {}
  assert_status 0
  [[ "${lines[0]}" == *OFFSET*LENGTH*SIZE ]] || fail_msg "no table"
  [[ "${lines[-1]}" == *" clusters of 4K marked since checkpoint "*"; trusted" ]] || fail_msg "summary: ${lines[-1]}"
  # The image now holds the file system mkfs made through the volume.
  assert_eq "$(blkid -o value -s TYPE "$IMG")" ext4 "file system in the image"
  assert_cleaned_up
}

@test "run --json: COMMAND's writes exactly, its environment, and its exit status" {
  run --separate-stderr trackfs run "$IMG" --json --cluster-size 4K --mark-ahead 0 -- \
    sh -c 'test "$TRACKFS_VOLUME" = "$TRACKFS_MOUNT/volume" || exit 99; head -c 5000 /dev/urandom | dd of="$TRACKFS_VOLUME" bs=5000 seek=10 conv=notrunc status=none; exit 7'
  assert_status 7
  assert_eq "$(json 'j.extents.map((e) => e.offset + "+" + e.length).join(" ")' <<< "$output")" "49152+8192" "extents"
  assert_eq "$(json 'j.trusted' <<< "$output")" true
  assert_cleaned_up
}

@test "run on an existing journal reports this run's changes only" {
  trackfs run "$IMG" --cluster-size 4K --mark-ahead 0 -- dd if=/dev/urandom of={} bs=4096 count=1 conv=notrunc status=none > /dev/null
  run --separate-stderr trackfs run "$IMG" --json -- dd if=/dev/urandom of={} bs=4096 seek=100 count=1 conv=notrunc status=none
  assert_status 0
  assert_eq "$(json 'j.extents.map((e) => e.offset + "+" + e.length).join(" ")' <<< "$output")" "409600+4096" "extents"
  # The history knows both runs.
  assert_eq "$(trackfs changes "$IMG.trackfs" --json | json 'j.extents.length')" 2
}

@test "run: no COMMAND is a usage error; a missing one exits 127; a trackfs failure exits 125" {
  run --separate-stderr trackfs run "$IMG"
  assert_fails_with 2 "COMMAND"
  run --separate-stderr trackfs run "$IMG" --
  assert_fails_with 2 "COMMAND"
  run --separate-stderr trackfs run "$IMG" -- no-such-command-xyz
  assert_status 127
  [[ "$stderr" == *"no-such-command-xyz: command not found"* ]] || fail_msg "no 'command not found'"
  run --separate-stderr trackfs run "$TF_TMP/missing.img" -- true
  assert_fails_with 125 "missing.img" "does not exist"
  run --separate-stderr trackfs run "$IMG" --cluster-size 3K -- true
  assert_fails_with 2 "cluster size"
  assert_cleaned_up
}

@test "run: SIGTERM to trackfs reaches COMMAND first, then trackfs cleans up" {
  # COMMAND says when it is ready, and what it got.
  # "$TF_BIN" itself (not the trackfs function, a subshell): $! is trackfs's pid.
  "$TF_BIN" run "$IMG" -- sh -c 'trap "echo got-TERM > \"$0\"; exit 9" TERM; echo ready > "$0.ready"; sleep 60 & wait' "$TF_TMP/marker" \
    > "$TF_TMP/out" 2> "$TF_TMP/err" &
  local pid=$!
  printf '%s\n' "$pid" >> "$TF_TMP/.state/helpers"
  local i
  for i in $(seq 100); do [ -f "$TF_TMP/marker.ready" ] && break; sleep 0.1; done
  [ -f "$TF_TMP/marker.ready" ] || fail_msg "COMMAND never started: $(cat "$TF_TMP/err")"
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  assert_eq "$(cat "$TF_TMP/marker")" got-TERM "what COMMAND got"
  assert_eq "$status" 9 "exit status (COMMAND's)"
  assert_cleaned_up
}

# Runs COMMAND (a Perl program that logs each signal) under trackfs run as the foreground job of
# a terminal, types Ctrl-C, then sends trackfs SIGTERM (test/cli/ctrl-c.py); $1 is Perl code run
# first, $2 an option of ctrl-c.py. Perl, not sh: a shell's trap may run once for two signals.
ctrl_c_run() {
  run --separate-stderr "$BATS_TEST_DIRNAME/ctrl-c.py" ${2:+"$2"} "$TF_TMP/log.ready" "$TF_TMP/log" -- "$TF_BIN" run "$IMG" -- \
    perl -e 'my $log = shift; '"$1"'; sub note { open(my $f, ">>", $log) or die; print $f "@_\n"; close $f }
      $SIG{INT} = sub { note("INT") }; $SIG{TERM} = sub { note("TERM"); exit 7 };
      open(my $r, ">", "$log.ready") or die; print $r "$$\n"; close $r; sleep 1 while 1' "$TF_TMP/log"
  # COMMAND's pid, for teardown: one in a process group of its own outlives a failed run's kill.
  [ ! -s "$TF_TMP/log.ready" ] || cat "$TF_TMP/log.ready" >> "$TF_TMP/.state/helpers"
  assert_status 0
  assert_eq "$output" 7 "trackfs run's exit status (COMMAND's)"
}

@test "run: Ctrl-C at a terminal reaches COMMAND once, not a second time through trackfs" {
  # The terminal sends Ctrl-C to its whole foreground process group, COMMAND included: trackfs
  # passing it on as well would be a second Ctrl-C ("stop now" to many programs).
  [ -e "$TF_ROOT/native/build/Release/trackfs_native.node" ] || fail_msg "the native addon is not built (scripts/setup.sh builds it)"
  ctrl_c_run ''
  assert_eq "$(tr '\n' ' ' < "$TF_TMP/log")" "INT TERM " "what COMMAND got"
  assert_cleaned_up
}

@test "run: Ctrl-C at a terminal reaches a COMMAND in a process group of its own through trackfs" {
  # As timeout(1) does: the terminal no longer signals COMMAND, so trackfs passes Ctrl-C on.
  ctrl_c_run 'setpgrp(0, 0)' --child-away
  assert_eq "$(tr '\n' ' ' < "$TF_TMP/log")" "INT TERM " "what COMMAND got"
  assert_cleaned_up
}

@test "run: a volume left open by COMMAND is detached lazily with a message, no hang" {
  # The background holder is started by COMMAND, so it is recorded for teardown by its pid file.
  run --separate-stderr timeout 60 "$TF_BIN" run "$IMG" -- sh -c 'sleep 3 < "$TRACKFS_VOLUME" & echo $! > "$0"; exit 0' "$TF_TMP/holder"
  printf '%s\n' "$(cat "$TF_TMP/holder")" >> "$TF_TMP/.state/helpers"
  assert_status 0
  [[ "$stderr" == *"volume is still open"*"lazily"* ]] || fail_msg "no message about the open volume"
  # Once the holder ends, the daemon closes the journal and exits: the journal is clean.
  local i
  for i in $(seq 100); do [ "$(trackfs status "$IMG.trackfs" --json | json 'j.journalState')" = clean ] && break; sleep 0.1; done
  assert_eq "$(trackfs status "$IMG.trackfs" --json | json 'j.journalState')" clean "journal state"
  assert_cleaned_up
}
