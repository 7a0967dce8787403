#!/usr/bin/env bats
# Files and arguments crafted by someone else: a journal header, a FIFO, terminal escapes. None of
# them may run code, hang, or print something that reads as another answer.

load helpers

setup() { tf_setup; }
teardown() { tf_teardown; }

# make_journal JOURNAL IMAGE_SIZE IMAGE_PATH [OPTIONS...]: a valid journal with a crafted header.
make_journal() {
  node "$TF_ROOT/test/cli/make-journal.mjs" "$@"
}

@test "a journal whose image path is a node option runs nothing (status, changes, checkpoint, backup --journal)" {
  local pwned="$TF_TMP/PWNED-$$-$RANDOM"
  local evil="--eval=require(\"fs\").writeFileSync(\"$pwned\",\"x\")"
  local img
  img="$(tf_image img 4M)"
  make_journal "$TF_TMP/evil.trackfs" 4194304 "$evil"

  run --separate-stderr trackfs status "$TF_TMP/evil.trackfs" --json
  [ ! -e "$pwned" ] || fail_msg "status ran code from the journal header"
  assert_status 0
  [[ "$(json 'j.events.join("|")' <<< "$output")" == *"not an absolute path"* ]] || fail_msg "status does not say the image path cannot be checked"

  run --separate-stderr trackfs changes "$TF_TMP/evil.trackfs" --json
  [ ! -e "$pwned" ] || fail_msg "changes ran code from the journal header"
  assert_status 0

  run --separate-stderr trackfs checkpoint "$TF_TMP/evil.trackfs"
  [ ! -e "$pwned" ] || fail_msg "checkpoint ran code from the journal header"

  run --separate-stderr trackfs backup "$img" "$TF_TMP/backup.img" --journal "$TF_TMP/evil.trackfs"
  [ ! -e "$pwned" ] || fail_msg "backup --journal ran code from the journal header"
  assert_fails_with 1 "evil.trackfs"
  [ ! -e "$TF_TMP/backup.img" ] || fail_msg "backup created its target from a journal of another image"
}

@test "a journal whose image path is relative is not probed, offline status says so in one event" {
  local img
  img="$(tf_image img 4M)"
  make_journal "$TF_TMP/rel.trackfs" 4194304 "img"
  run --separate-stderr trackfs status "$TF_TMP/rel.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.events.filter((e) => e.includes("not an absolute path")).length' <<< "$output")" 1 "events about the path"
}

# Hang guard: a command that blocks on a FIFO would never end; 20 s is far more than any needs here.
bounded() { timeout -s KILL 20 "$TF_BIN" "$@"; }

@test "a FIFO where a file is expected is refused at once, never opened to block (journal, sidecar, log file, image, target)" {
  local img mnt
  img="$(tf_image img 4M)"
  mnt="$(tf_mountpoint mnt)"
  mkfifo "$TF_TMP/fifo"

  run --separate-stderr bounded backup "$img" "$TF_TMP/b.img" --journal "$TF_TMP/fifo"
  assert_fails_with 1 "$TF_TMP/fifo" "not a regular file"
  [ ! -e "$TF_TMP/b.img" ] || fail_msg "target created"

  run --separate-stderr bounded mount "$img" "$mnt" --journal "$TF_TMP/fifo"
  assert_fails_with 1 "$TF_TMP/fifo" "not a regular file"
  assert_not_mounted "$mnt"

  run --separate-stderr bounded mount "$img" "$mnt" --log-file "$TF_TMP/fifo"
  assert_fails_with 1 "$TF_TMP/fifo" "not a regular file"
  assert_not_mounted "$mnt"

  run --separate-stderr bounded mount "$TF_TMP/fifo" "$mnt"
  assert_fails_with 1 "$TF_TMP/fifo" "not a regular file"

  for cmd in status changes checkpoint; do
    run --separate-stderr bounded "$cmd" "$TF_TMP/fifo"
    assert_fails_with 1 "$TF_TMP/fifo"
  done

  # A sidecar that is a FIFO: TARGET exists, so the sidecar is read.
  tf_mount_ok "$img" "$mnt"
  truncate -s 4M "$TF_TMP/t.img"
  run --separate-stderr bounded backup "$mnt" "$TF_TMP/t.img" --sidecar "$TF_TMP/fifo"
  assert_fails_with 1 "$TF_TMP/fifo" "not a regular file"
  run --separate-stderr bounded backup "$mnt" "$TF_TMP/fifo" --full --sidecar "$TF_TMP/s"
  assert_fails_with 1 "$TF_TMP/fifo" "not a regular file"
  [ -p "$TF_TMP/fifo" ] || fail_msg "the FIFO was replaced"
}

@test "the daemon's command line names no path: ps shows other users nothing of the image, journal or mountpoint" {
  local img mnt
  img="$(tf_image secret-name.img 4M)"
  mnt="$(tf_mountpoint secret-mnt)"
  tf_mount_ok "$img" "$mnt" --journal "$TF_TMP/secret-journal.trackfs"
  local pid args
  pid="$(tf_daemon_pid "$mnt")"
  args="$(tr '\0' ' ' < "/proc/$pid/cmdline")"
  [[ "$args" == *__daemon* ]] || fail_msg "pid $pid is not the daemon: $args"
  [[ "$args" != *secret* && "$args" != *"$TF_TMP"* ]] || fail_msg "the daemon's command line shows paths: $args"
  run --separate-stderr trackfs status "$mnt" --json
  assert_eq "$(json 'j.journal' <<< "$output")" "$TF_TMP/secret-journal.trackfs" "journal"
}

@test "a journal's reason with terminal escapes prints as escapes: it cannot overwrite 'trusted NO' with 'yes'" {
  local img
  img="$(tf_image img 4M)"
  local evil=$'disk ok\r\e[2K\e[1Atrusted      yes\n\e]0;owned\a\u202e'
  node "$TF_ROOT/test/cli/make-journal.mjs" "$img.trackfs" 4194304 "$img" --untrusted "$evil"
  local esc=$'\e' cr=$'\r' bel=$'\a' rlo=$'\u202e'

  run --separate-stderr trackfs status "$img.trackfs"
  assert_status 0
  local out="$output$stderr"
  [[ "$out" != *"$esc"* && "$out" != *"$cr"* && "$out" != *"$bel"* && "$out" != *"$rlo"* ]] || fail_msg "raw control characters in status output"
  # The journal's encoder stores control characters of a reason as U+FFFD (and its decoder refuses
  # a header that holds them), so none reaches the screen; what is left is shown escaped.
  [[ "$output" == *"trusted      NO: disk ok"* ]] || fail_msg "the trusted line does not say NO with the reason"
  [ "$(grep -c '^trusted ' <<< "$output")" -eq 1 ] || fail_msg "more than one 'trusted' line"

  run --separate-stderr trackfs changes "$img.trackfs"
  assert_status 0
  out="$output$stderr"
  [[ "$out" != *"$esc"* && "$out" != *"$cr"* && "$out" != *"$bel"* && "$out" != *"$rlo"* ]] || fail_msg "raw control characters in changes output"
  assert_eq "${#stderr_lines[@]}" 1 "warning lines"
  [[ "${lines[${#lines[@]} - 1]}" == *"UNTRUSTED: disk ok"* ]] || fail_msg "summary line"

  # JSON carries the reason as the journal holds it: the control characters were never stored.
  run --separate-stderr trackfs changes "$img.trackfs" --json
  local reason
  reason="$(json 'j.reason' <<< "$output")"
  [[ "$reason" == "disk ok"* && "$reason" != *"$esc"* && "$reason" != *"$cr"* ]] || fail_msg "reason in JSON: $reason"
}
