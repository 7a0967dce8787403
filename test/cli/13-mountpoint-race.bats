#!/usr/bin/env bats
# Two mounts racing for one mountpoint: exactly one wins, and the winner stays mounted and
# answering; the loser takes nothing of the winner's down with it.

load helpers

SIZE=4194304

setup() {
  tf_setup
  IMG1="$(tf_image img1 4M)"
  IMG2="$(tf_image img2 4M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

@test "two mounts started at once on one mountpoint: one wins and stays live, the other fails in one line" {
  local round
  for round in 1 2 3 4 5; do
    ( set +e; trackfs mount "$IMG1" "$MNT" > "$TF_TMP/out1" 2> "$TF_TMP/err1"; echo $? > "$TF_TMP/rc1" ) 3>&- &
    ( set +e; trackfs mount "$IMG2" "$MNT" > "$TF_TMP/out2" 2> "$TF_TMP/err2"; echo $? > "$TF_TMP/rc2" ) 3>&- &
    wait
    local rc1 rc2
    rc1="$(cat "$TF_TMP/rc1")"
    rc2="$(cat "$TF_TMP/rc2")"
    # Record whatever came up for teardown.
    local pid
    pid="$(trackfs status "$MNT" --json 2>/dev/null | json 'j.pid')" && printf '%s\n' "$pid" >> "$TF_TMP/.state/pids"
    [ $((rc1 + rc2)) -eq 1 ] || fail_msg "round $round: exits $rc1 and $rc2 (expected one 0 and one 1); stderr: $(cat "$TF_TMP/err1") | $(cat "$TF_TMP/err2")"
    local winner=$IMG1 loser_err=$TF_TMP/err2
    [ "$rc1" -eq 0 ] || { winner=$IMG2; loser_err=$TF_TMP/err1; }
    [ "$(wc -l < "$loser_err")" -eq 1 ] || fail_msg "round $round: the loser printed $(wc -l < "$loser_err") lines: $(cat "$loser_err")"
    grep -q "^trackfs: .*$MNT" "$loser_err" || fail_msg "round $round: the loser's message does not name the mountpoint: $(cat "$loser_err")"
    # The winner is mounted, serves its own image, and answers on its socket.
    sleep 0.5
    assert_live "$MNT" "$SIZE"
    run --separate-stderr trackfs status "$MNT" --json
    assert_status 0
    assert_eq "$(json 'j.image' <<< "$output")" "$winner" "round $round: image served"
    assert_eq "$(json 'j.state' <<< "$output")" active "round $round: state"
    run --separate-stderr trackfs unmount "$MNT"
    assert_status 0
    assert_not_mounted "$MNT"
  done
}
