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
