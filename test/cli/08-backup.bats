#!/usr/bin/env bats
# Checkpoints, `changes --since` and `backup`, as a user types them.

load helpers

SIZE=8388608
ID_RE='^[0-9a-f]{12}:[0-9]+$'

setup() {
  tf_setup
  IMG="$(tf_image img 8M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

# cluster_write N: random data over the whole 64K cluster N of the volume.
cluster_write() { write_at "$MNT/volume" $(($1 * 65536)) 65536; }

# backup_json SOURCE TARGET [OPTIONS...]: runs `trackfs backup ... --json`, which must succeed.
backup_json() {
  run --separate-stderr trackfs backup "$@" --json
  [ "$status" -eq 0 ] || fail_msg "backup $* failed (exit $status)"
}

@test "trackfs --help lists checkpoint and backup" {
  run --separate-stderr trackfs --help
  assert_status 0
  [[ "$output" == *"trackfs checkpoint "* ]] || fail_msg "--help does not list 'checkpoint'"
  [[ "$output" == *"trackfs backup "* ]] || fail_msg "--help does not list 'backup'"
  run --separate-stderr trackfs backup --help
  assert_status 0
  local o
  for o in --checkpoint --since --full --verify --journal --sidecar --json; do
    [[ "$output" == *"$o"* ]] || fail_msg "backup --help does not list $o"
  done
  run --separate-stderr trackfs changes --help
  [[ "$output" == *--since* ]] || fail_msg "changes --help does not list --since"
}

@test "checkpoint prints an id alone on stdout, and the number grows by one" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs checkpoint "$MNT"
  assert_status 0
  assert_eq "$stderr" "" "stderr of checkpoint"
  assert_eq "${#lines[@]}" 1 "lines on stdout"
  [[ "$output" =~ $ID_RE ]] || fail_msg "not a checkpoint id: '$output'"
  local first=$output
  local second
  second="$(trackfs checkpoint "$MNT")"
  [[ "$second" =~ $ID_RE ]] || fail_msg "not a checkpoint id: '$second'"
  assert_eq "${second%%:*}" "${first%%:*}" "generation part"
  assert_eq "${second##*:}" "$((${first##*:} + 1))" "checkpoint number"
  # The generation part is the start of the journal's generation.
  local gen
  gen="$(trackfs status "$MNT" --json | json 'j.generation')"
  [[ "$gen" == "${first%%:*}"* ]] || fail_msg "id $first is not of generation $gen"

  run --separate-stderr trackfs checkpoint "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.id' <<< "$output")" "${first%%:*}:$((${first##*:} + 2))" "id"
  assert_eq "$(json 'j.checkpoint' <<< "$output")" "$((${first##*:} + 2))" "checkpoint"
  assert_eq "$(json 'j.generation' <<< "$output")" "$gen" "generation"
  assert_eq "$(json 'j.rebased' <<< "$output")" false "rebased"
  assert_eq "$(json 'j.source' <<< "$output")" mount "source"
  [ "$(json 'typeof j.at === "string" && !isNaN(Date.parse(j.at))' <<< "$output")" = true ] || fail_msg "no date in 'at'"
}

@test "status --json has epoch, latestCheckpoint and lastCheckpointAt" {
  tf_mount_ok "$IMG" "$MNT"
  local id
  id="$(trackfs checkpoint "$MNT")"
  run --separate-stderr trackfs status "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.latestCheckpoint' <<< "$output")" "$id" "latestCheckpoint"
  assert_eq "$(json 'j.epoch' <<< "$output")" "$((${id##*:} + 1))" "epoch"
  [ "$(json 'j.lastCheckpointAt !== null && !isNaN(Date.parse(j.lastCheckpointAt))' <<< "$output")" = true ] || fail_msg "lastCheckpointAt: $(json 'j.lastCheckpointAt' <<< "$output")"
}

@test "changes --since ID lists what was written after the checkpoint, not before" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 3
  local id
  id="$(trackfs checkpoint "$MNT")"
  cluster_write 7
  cluster_write 8
  write_at "$MNT/volume" 1048577 10 # cluster 16
  run --separate-stderr trackfs changes "$MNT" --since "$id" --json
  assert_status 0
  assert_eq "$stderr" "" "stderr"
  assert_eq "$(clusters_of 65536 <<< "$output")" "7 8 16" "clusters since $id"
  assert_eq "$(json 'j.since' <<< "$output")" "$id" "since"
  assert_eq "$(json 'j.latestCheckpoint' <<< "$output")" "$id" "latestCheckpoint"
  # Without --since: everything since the generation began.
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" "3 7 8 16" "clusters since the beginning"
  assert_eq "$(json 'j.since' <<< "$output")" "${id%%:*}:0" "since"
  # The text form names the checkpoint.
  run --separate-stderr trackfs changes "$MNT" --since "$id"
  assert_status 0
  [[ "${lines[${#lines[@]} - 1]}" == *"since checkpoint $id"* ]] || fail_msg "summary line does not name the checkpoint"
}

@test "changes --since with a malformed id: exit 2, one line" {
  tf_mount_ok "$IMG" "$MNT"
  local bad
  for bad in garbage 12 abc:1 0123456789ab: 0123456789ab:-1 0123456789ab:x; do
    run --separate-stderr trackfs changes "$MNT" --since "$bad"
    assert_fails_with 2 "not a checkpoint id"
    assert_eq "$output" "" "stdout for --since $bad"
  done
}

@test "changes --since an id of another generation: exit 3, one line, the whole image on stdout" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 2
  local id other
  id="$(trackfs checkpoint "$MNT")"
  # Another history: the same number under a generation that cannot be this one's.
  other="$([ "${id:0:1}" = f ] && echo 0 || echo f)${id:1}"
  run --separate-stderr trackfs changes "$MNT" --since "$other" --json
  assert_status 3
  assert_one_error_line "not of this journal's history" "whole image"
  assert_eq "$(json 'j.extents' <<< "$output")" "[{\"offset\":0,\"length\":$SIZE}]" "extents"
  assert_eq "$(json 'j.baseUnavailable' <<< "$output")" true "baseUnavailable"
  assert_eq "$(json 'j.changedBytes' <<< "$output")" "$SIZE" "changedBytes"
  [ -n "$(json 'j.fullImage' <<< "$output")" ] || fail_msg "no fullImage reason"
  # The same in text form.
  run --separate-stderr trackfs changes "$MNT" --since "$other"
  assert_status 3
  assert_one_error_line "whole image"
  [[ "$output" == *"$SIZE"* ]] || fail_msg "the table does not list the whole image"
}

@test "changes --since a checkpoint that does not exist yet: exit 3, the whole image" {
  tf_mount_ok "$IMG" "$MNT"
  local id
  id="$(trackfs checkpoint "$MNT")"
  run --separate-stderr trackfs changes "$MNT" --since "${id%%:*}:$((${id##*:} + 5))" --json
  assert_status 3
  assert_one_error_line "does not exist"
  assert_eq "$(json 'j.extents' <<< "$output")" "[{\"offset\":0,\"length\":$SIZE}]" "extents"
}

@test "changes --since after --reset-journal: the old id is of another generation (exit 3)" {
  tf_mount_ok "$IMG" "$MNT"
  local id
  id="$(trackfs checkpoint "$MNT")"
  run trackfs unmount "$MNT"
  assert_status 0
  tf_mount_ok "$IMG" "$MNT" --reset-journal
  run --separate-stderr trackfs changes "$MNT" --since "$id" --json
  assert_status 3
  assert_one_error_line "$id"
  assert_eq "$(json 'j.extents' <<< "$output")" "[{\"offset\":0,\"length\":$SIZE}]" "extents"
  local id2
  id2="$(trackfs checkpoint "$MNT")"
  [ "${id2%%:*}" != "${id%%:*}" ] || fail_msg "the generation part did not change after --reset-journal ($id, $id2)"
}

@test "backup creates the target as a full copy; the second run is incremental" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 300000
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/backup.img" --checkpoint
  assert_status 0
  [[ "$output" == *"full copy"* ]] || fail_msg "first run is not reported as a full copy"
  [[ "$output" =~ at\ checkpoint\ [0-9a-f]{12}:[0-9]+ ]] || fail_msg "summary does not name the checkpoint"
  cmp "$MNT/volume" "$TF_TMP/backup.img" || fail_msg "target differs from the volume after the full copy"
  [ -f "$TF_TMP/backup.img.trackfs-backup" ] || fail_msg "no sidecar"
  local first
  first="$(json 'j.checkpointId' < "$TF_TMP/backup.img.trackfs-backup")"
  assert_eq "$(json 'j.state' < "$TF_TMP/backup.img.trackfs-backup")" complete "sidecar state"
  # The target is sparse where the source is empty.
  [ "$(du -k "$TF_TMP/backup.img" | cut -f1)" -lt 2048 ] || fail_msg "target is not sparse ($(du -k "$TF_TMP/backup.img" | cut -f1) KiB used)"

  cluster_write 100
  write_at "$MNT/volume" $((SIZE - 1)) 1
  backup_json "$MNT" "$TF_TMP/backup.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" false "full"
  assert_eq "$(json 'j.base' <<< "$output")" "$first" "base"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" 131072 "copiedBytes (clusters 100 and 127)"
  assert_eq "$(json 'j.extents' <<< "$output")" 2 "extents"
  assert_eq "$(json 'j.imageSize' <<< "$output")" "$SIZE" "imageSize"
  assert_eq "$(json 'j.targetAt' <<< "$output")" "$(json 'j.checkpoint' <<< "$output")" "targetAt"
  assert_eq "$(json 'j.targetAt' <<< "$output")" "${first%%:*}:$((${first##*:} + 1))" "the next checkpoint"
  cmp "$MNT/volume" "$TF_TMP/backup.img" || fail_msg "target differs from the volume after the incremental"
  # Text summary of an incremental with nothing to do.
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/backup.img" --checkpoint
  assert_status 0
  [[ "$output" == *"incremental since"*"copied 0 B"* ]] || fail_msg "summary of an empty incremental"
}

@test "backup --verify reports verified chunks" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 65536 200000
  backup_json "$MNT" "$TF_TMP/b.img" --checkpoint --verify
  [ "$(json 'j.verified' <<< "$output")" -gt 0 ] || fail_msg "verified: $(json 'j.verified' <<< "$output")"
  cluster_write 50
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint --verify
  assert_status 0
  [[ "$output" =~ verified\ [1-9][0-9]*\ chunk ]] || fail_msg "text summary does not report verified chunks"
  # Without --verify, nothing is verified.
  backup_json "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.verified' <<< "$output")" null "verified without --verify"
}

@test "backup refuses a target of another size: exit 1, one line" {
  tf_mount_ok "$IMG" "$MNT"
  truncate -s 4M "$TF_TMP/small.img"
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/small.img"
  assert_fails_with 1 "small.img" "same size"
  assert_eq "$(stat -c %s "$TF_TMP/small.img")" 4194304 "size of the refused target"
  [ ! -e "$TF_TMP/small.img.trackfs-backup" ] || fail_msg "a sidecar was written for a refused target"
  # --full does not override a size mismatch.
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/small.img" --full
  assert_fails_with 1 "same size"
}

@test "backup refuses a target that exists without a sidecar, unless --full" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 100000
  truncate -s "$SIZE" "$TF_TMP/other.img"
  write_at "$TF_TMP/other.img" 4000000 1000
  local before
  before="$(sha256sum < "$TF_TMP/other.img")"
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/other.img" --checkpoint
  assert_fails_with 1 "no sidecar" "--full"
  assert_eq "$(sha256sum < "$TF_TMP/other.img")" "$before" "refused target untouched"

  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/other.img" --checkpoint --full --json
  assert_status 0
  assert_eq "$(json 'j.full' <<< "$output")" true "full"
  assert_eq "$(json 'j.fullReason' <<< "$output")" "--full" "fullReason"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" "$SIZE" "copiedBytes"
  cmp "$MNT/volume" "$TF_TMP/other.img" || fail_msg "target differs after --full"
  # From now on it has a sidecar: incremental.
  cluster_write 9
  backup_json "$MNT" "$TF_TMP/other.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" false "full"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" 65536 "copiedBytes"
}

@test "backup refuses a sidecar of another generation, and --since of another generation" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 100000
  run trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  local old
  old="$(json 'j.checkpointId' < "$TF_TMP/b.img.trackfs-backup")"
  run trackfs unmount "$MNT"
  assert_status 0
  tf_mount_ok "$IMG" "$MNT" --reset-journal
  cluster_write 5
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_fails_with 1 "history" "--full"
  assert_eq "$(json 'j.checkpointId' < "$TF_TMP/b.img.trackfs-backup")" "$old" "sidecar untouched by the refusal"
  assert_eq "$(json 'j.state' < "$TF_TMP/b.img.trackfs-backup")" complete "sidecar state after the refusal"

  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --since "$old"
  assert_fails_with 1 "$old" "--full"

  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint --full --json
  assert_status 0
  assert_eq "$(json 'j.full' <<< "$output")" true "full"
  cmp "$MNT/volume" "$TF_TMP/b.img" || fail_msg "target differs after --full"
  [ "$(json 'j.generation' < "$TF_TMP/b.img.trackfs-backup")" = "$(trackfs status "$MNT" --json | json 'j.generation')" ] || fail_msg "sidecar not moved to the new generation"
}

@test "backup refuses a sidecar that is not JSON, or lacks a field: exit 1, one line, TARGET and sidecar untouched" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 1
  run trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  local sum sc="$TF_TMP/b.img.trackfs-backup"
  cluster_write 2
  sum="$(sha256sum < "$TF_TMP/b.img")"
  json 'delete j.checkpointId, j' < "$sc" > "$TF_TMP/no-id" && cp "$TF_TMP/no-id" "$sc"
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_fails_with 1 "$sc" "damaged" "checkpointId" "--full"
  cmp -s "$TF_TMP/no-id" "$sc" || fail_msg "the sidecar was changed by the refusal"

  printf '{"format":' > "$sc"
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_fails_with 1 "$sc" "not valid JSON" "--full"
  assert_eq "$(sha256sum < "$TF_TMP/b.img")" "$sum" "TARGET after the refusals"
}

@test "backup --since with a malformed id: exit 2, one line" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --since nope
  assert_fails_with 2 "not a checkpoint id"
  [ ! -e "$TF_TMP/b.img" ] || fail_msg "a target was created"
}

@test "backup refuses the source's own image or volume as target" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 1000
  local before
  before="$(sha256sum < "$IMG")"
  run --separate-stderr trackfs backup "$MNT" "$MNT/volume" --full
  assert_fails_with 1 "part of the source"
  run --separate-stderr trackfs backup "$MNT" "$IMG" --full
  assert_fails_with 1 "part of the source"
  assert_eq "$(sha256sum < "$IMG")" "$before" "image untouched"
}

@test "backup of something that is not a source: exit 1, one line" {
  run --separate-stderr trackfs backup "$TF_TMP/nothing" "$TF_TMP/b.img"
  assert_fails_with 1 "does not exist"
  mkdir "$TF_TMP/dir"
  run --separate-stderr trackfs backup "$TF_TMP/dir" "$TF_TMP/b.img"
  assert_fails_with 1 "not a trackfs mountpoint"
  # An image without a journal.
  run --separate-stderr trackfs backup "$IMG" "$TF_TMP/b.img"
  assert_fails_with 1 "journal" "does not exist"
  [ ! -e "$TF_TMP/b.img" ] || fail_msg "a target was created"
}

@test "checkpoint on a journal file offline, and an offline backup from image + journal" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 1
  local live
  live="$(trackfs checkpoint "$MNT")"
  # While mounted, the journal file is the daemon's.
  run --separate-stderr trackfs checkpoint "$IMG.trackfs"
  assert_fails_with 1 "in use"
  run --separate-stderr trackfs backup "$IMG" "$TF_TMP/b.img"
  assert_fails_with 1 "in use"
  cluster_write 4
  run trackfs unmount "$MNT"
  assert_status 0

  run --separate-stderr trackfs checkpoint "$IMG.trackfs"
  assert_status 0
  assert_eq "$output" "${live%%:*}:$((${live##*:} + 1))" "offline checkpoint id"
  local off=$output
  run --separate-stderr trackfs checkpoint "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.source' <<< "$output")" journal "source"
  assert_eq "$(json 'j.id' <<< "$output")" "${off%%:*}:$((${off##*:} + 1))" "id"
  assert_eq "$(trackfs status "$IMG.trackfs" --json | json 'j.latestCheckpoint')" "${off%%:*}:$((${off##*:} + 1))" "latestCheckpoint offline"
  assert_eq "$(trackfs status "$IMG.trackfs" --json | json 'j.trusted')" true "trusted after offline checkpoints"
  run --separate-stderr trackfs changes "$IMG.trackfs" --since "$live" --json
  assert_status 0
  assert_eq "$(clusters_of 65536 <<< "$output")" 4 "clusters since the live checkpoint"

  # Offline backups: a full one, then an incremental of nothing.
  backup_json "$IMG" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" true "full"
  cmp "$IMG" "$TF_TMP/b.img" || fail_msg "offline backup differs from the image"
  backup_json "$IMG" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" false "full"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" 0 "copiedBytes"

  # The journal may live elsewhere: --journal.
  mv "$IMG.trackfs" "$TF_TMP/j.trackfs"
  backup_json "$IMG" "$TF_TMP/b.img" --journal "$TF_TMP/j.trackfs" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" false "full with --journal"
}

@test "checkpoint on an untrusted journal re-bases it: new generation, id NEWGEN:0, a warning" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 1
  local id
  id="$(trackfs checkpoint "$MNT")"
  run trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  run trackfs unmount "$MNT"
  assert_status 0
  # Modified while not mounted.
  write_at "$IMG" 3000000 100
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"

  run --separate-stderr trackfs checkpoint "$IMG.trackfs"
  assert_status 0
  [[ "$output" =~ ^[0-9a-f]{12}:0$ ]] || fail_msg "re-based id is not NEWGEN:0: '$output'"
  [ "${output%%:*}" != "${id%%:*}" ] || fail_msg "the generation did not change"
  assert_eq "${#stderr_lines[@]}" 1 "warning lines"
  [[ "${stderr,,}" == *untrusted*full* ]] || fail_msg "the warning does not say the next backup must be full"
  assert_no_stack
  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted after the re-base"

  # The backup made before is of the old history: refused without --full.
  run --separate-stderr trackfs backup "$IMG" "$TF_TMP/b.img"
  assert_fails_with 1 "--full"
  backup_json "$IMG" "$TF_TMP/b.img" --full --checkpoint
  cmp "$IMG" "$TF_TMP/b.img" || fail_msg "target differs from the image"
}

@test "checkpoint --json on an untrusted journal says rebased, with the old reason" {
  tf_mount_ok "$IMG" "$MNT"
  run trackfs unmount "$MNT"
  assert_status 0
  write_at "$IMG" 0 10
  run --separate-stderr trackfs checkpoint "$IMG.trackfs" --json
  assert_status 0
  assert_eq "$(json 'j.rebased' <<< "$output")" true "rebased"
  assert_eq "$(json 'j.checkpoint' <<< "$output")" 0 "checkpoint"
  [[ "$(json 'j.rebasedFrom' <<< "$output")" == *modified* ]] || fail_msg "rebasedFrom: $(json 'j.rebasedFrom' <<< "$output")"
}

@test "an offline backup with --checkpoint of an image modified while unmounted is full and re-bases" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 2
  run trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  run trackfs unmount "$MNT"
  assert_status 0
  write_at "$IMG" 5000000 4096
  backup_json "$IMG" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" true "full"
  [[ "$(json 'j.fullReason' <<< "$output")" == *untrusted*re-based* ]] || fail_msg "fullReason: $(json 'j.fullReason' <<< "$output")"
  [[ "$(json 'j.checkpoint' <<< "$output")" =~ :0$ ]] || fail_msg "checkpoint: $(json 'j.checkpoint' <<< "$output")"
  cmp "$IMG" "$TF_TMP/b.img" || fail_msg "target differs from the image"
  # And the next one is incremental again.
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 6
  backup_json "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" false "full"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" 65536 "copiedBytes"
  cmp "$MNT/volume" "$TF_TMP/b.img" || fail_msg "target differs from the volume"
}

@test "an interrupted backup (sidecar in-progress) is redone from its base" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 1
  run trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  local base
  base="$(json 'j.checkpointId' < "$TF_TMP/b.img.trackfs-backup")"
  cluster_write 10
  cluster_write 11
  # As a run that died after starting to copy would leave it.
  json "Object.assign(j, { state: 'in-progress', running: { startedAt: new Date().toISOString(), base: '$base', to: null, full: false } })" \
    < "$TF_TMP/b.img.trackfs-backup" > "$TF_TMP/sc" && mv "$TF_TMP/sc" "$TF_TMP/b.img.trackfs-backup"
  dd if=/dev/urandom of="$TF_TMP/b.img" bs=65536 seek=10 count=1 conv=notrunc status=none
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  [[ "${stderr,,}" == *interrupted* ]] || fail_msg "stderr does not say the previous run was interrupted"
  cmp "$MNT/volume" "$TF_TMP/b.img" || fail_msg "target differs after the redo"
  assert_eq "$(json 'j.state' < "$TF_TMP/b.img.trackfs-backup")" complete "sidecar state"
  local last
  last="$(json 'j.runs[j.runs.length - 1]' < "$TF_TMP/b.img.trackfs-backup")"
  assert_eq "$(json 'j.base' <<< "$last")" "$base" "base of the redo"
  assert_eq "$(json 'j.copiedBytes' <<< "$last")" 131072 "copiedBytes of the redo"
}

@test "backup --sidecar keeps the state where it is told" {
  tf_mount_ok "$IMG" "$MNT"
  cluster_write 0
  backup_json "$MNT" "$TF_TMP/b.img" --checkpoint --sidecar "$TF_TMP/state.json"
  assert_eq "$(json 'j.sidecar' <<< "$output")" "$TF_TMP/state.json" "sidecar"
  [ -f "$TF_TMP/state.json" ] || fail_msg "no sidecar at --sidecar"
  [ ! -e "$TF_TMP/b.img.trackfs-backup" ] || fail_msg "a sidecar at the default place too"
  cluster_write 3
  backup_json "$MNT" "$TF_TMP/b.img" --checkpoint --sidecar "$TF_TMP/state.json"
  assert_eq "$(json 'j.full' <<< "$output")" false "full"
  # Without it, the target has no sidecar: refused.
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img"
  assert_fails_with 1 "no sidecar"
}

@test "backup shows a progress bar on a terminal only, and not with --no-progress" {
  command -v script > /dev/null || skip "script (util-linux) is not installed"
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 100000
  # Under a pseudo-terminal (script), stderr is a TTY.
  run script -qec "'$TF_BIN' backup '$MNT' '$TF_TMP/b.img' --checkpoint" /dev/null
  assert_status 0
  [[ "$output" == *"8 MiB / 8 MiB"* ]] || fail_msg "no progress bar with bytes done / total"
  [[ "$output" == *"/s"* && "$output" == *ETA* ]] || fail_msg "the progress bar shows no rate or ETA"
  cluster_write 4
  run script -qec "'$TF_BIN' backup '$MNT' '$TF_TMP/b.img' --checkpoint --no-progress" /dev/null
  assert_status 0
  [[ "$output" != *ETA* ]] || fail_msg "a progress bar despite --no-progress"
  [[ "$output" == *"incremental since"* ]] || fail_msg "no summary"
  # Not a terminal: no progress bar, nothing on stderr.
  cluster_write 5
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_status 0
  assert_eq "$stderr" "" "stderr without a terminal"
}

@test "backup and checkpoint of an ejected mount: exit 1, one line saying what to do" {
  tf_mount_ok "$IMG" "$MNT"
  run trackfs eject "$MNT"
  assert_status 0
  run --separate-stderr trackfs backup "$MNT" "$TF_TMP/b.img"
  assert_fails_with 1 "ejected"
  [ ! -e "$TF_TMP/b.img" ] || fail_msg "a target was created"
  run --separate-stderr trackfs checkpoint "$MNT"
  assert_fails_with 1 "ejected" "$IMG.trackfs"
  # What the message says works: offline, from the image, while ejected.
  backup_json "$IMG" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" true "full"
  cmp "$IMG" "$TF_TMP/b.img" || fail_msg "offline backup of an ejected mount differs"
  run trackfs resume "$MNT"
  assert_status 0
  cluster_write 7
  backup_json "$MNT" "$TF_TMP/b.img" --checkpoint
  assert_eq "$(json 'j.full' <<< "$output")" false "full after resume"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" 65536 "copiedBytes after resume"
}

@test "changes --since on an untrusted journal: the whole image, a warning, exit 0" {
  tf_mount_ok "$IMG" "$MNT"
  local id
  id="$(trackfs checkpoint "$MNT")"
  run trackfs unmount "$MNT"
  assert_status 0
  write_at "$IMG" 100 1
  run --separate-stderr trackfs changes "$IMG.trackfs" --since "$id" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  assert_eq "$(json 'j.extents' <<< "$output")" "[{\"offset\":0,\"length\":$SIZE}]" "extents"
  assert_eq "${#stderr_lines[@]}" 1 "warning lines"
  [[ "${stderr,,}" == *untrusted* ]] || fail_msg "the warning does not say untrusted"
  assert_no_stack
}

@test "backup into a block device of the same size (loop device), with --sidecar" {
  tf_mount_ok "$IMG" "$MNT"
  write_at "$MNT/volume" 0 200000
  truncate -s "$SIZE" "$TF_TMP/disk"
  local dev
  dev="$(tf_loop "$TF_TMP/disk")" || skip "no loop device available"
  write_at "$dev" 3000000 5000
  # Without --sidecar: its state would have to live in /dev, where a reused name inherits it.
  run --separate-stderr trackfs backup "$MNT" "$dev" --full
  assert_fails_with 2 "--sidecar"
  run --separate-stderr trackfs backup "$MNT" "$dev" --sidecar "$TF_TMP/dev.state"
  assert_fails_with 1 "no sidecar" "--full"
  backup_json "$MNT" "$dev" --checkpoint --full --sidecar "$TF_TMP/dev.state"
  cmp "$MNT/volume" "$dev" || fail_msg "the device differs from the volume after --full"
  cluster_write 20
  backup_json "$MNT" "$dev" --checkpoint --sidecar "$TF_TMP/dev.state"
  assert_eq "$(json 'j.full' <<< "$output")" false "full"
  assert_eq "$(json 'j.copiedBytes' <<< "$output")" 65536 "copiedBytes"
  cmp "$MNT/volume" "$dev" || fail_msg "the device differs from the volume after the incremental"
}
