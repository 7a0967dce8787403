#!/usr/bin/env bats
# The normal flow: mount, write, list changes, status, unmount, read the journal offline, remount.

load helpers

SIZE=8388608
# Writes as OFFSET:LENGTH: a first block, a few bytes mid-cluster, a write across a 64K boundary,
# the last byte of the image.
WRITES=(0:4096 200000:10 327580:200 8388607:1)

setup() {
  tf_setup
  IMG="$(tf_image img 8M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

do_writes() {
  local w
  for w in "${WRITES[@]}"; do write_at "$MNT/volume" "${w%%:*}" "${w##*:}"; done
}

# check_changes TARGET CLUSTER_SIZE: `changes TARGET --json` lists exactly the clusters of WRITES.
check_changes() {
  run --separate-stderr trackfs changes "$1" --json
  assert_status 0
  assert_eq "$stderr" "" "stderr of changes"
  local want
  want="$(expected_clusters "$2" "${WRITES[@]}")"
  assert_eq "$(clusters_of "$2" <<< "$output")" "$want" "changed clusters (cluster size $2)"
  assert_eq "$(json 'j.clusterSize' <<< "$output")" "$2" "clusterSize"
  assert_eq "$(json 'j.imageSize' <<< "$output")" "$SIZE" "imageSize"
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
  assert_eq "$(json 'j.changedClusters' <<< "$output")" "$(wc -w <<< "$want")" "changedClusters"
  # Extents are sorted, merged, cluster-aligned and within the image.
  assert_eq "$(json "j.extents.every((e, i, a) => e.offset % $2 === 0 && e.length > 0 && e.offset + e.length <= j.imageSize && (i === 0 || a[i - 1].offset + a[i - 1].length < e.offset))" <<< "$output")" true "extents well-formed"
}

@test "mount returns 0 only when the mount is live" {
  tf_mount "$IMG" "$MNT"
  assert_status 0
  # Checked right after mount returns, with no waiting.
  assert_live "$MNT" "$SIZE"
  grep -F ' - fuse.trackfs ' /proc/self/mountinfo > /dev/null || fail_msg "no fuse.trackfs entry in /proc/self/mountinfo"
  [ "$(ls -A "$MNT")" = volume ] || fail_msg "the mount holds something else than 'volume': $(ls -A "$MNT")"
  cmp "$IMG" "$MNT/volume" || fail_msg "the volume does not read as the image"
}

@test "changes lists exactly the written clusters (default 64K)" {
  tf_mount_ok "$IMG" "$MNT"
  do_writes
  check_changes "$MNT" 65536
}

@test "changes lists exactly the written clusters (--cluster-size 4K)" {
  tf_mount_ok "$IMG" "$MNT" --cluster-size 4K
  do_writes
  check_changes "$MNT" 4096
}

@test "changes lists exactly the written clusters (--cluster-size 1M)" {
  tf_mount_ok "$IMG" "$MNT" --cluster-size 1M
  do_writes
  check_changes "$MNT" 1048576
}

@test "written data reaches the image" {
  tf_mount_ok "$IMG" "$MNT"
  head -c 65536 /dev/urandom > "$TF_TMP/data"
  dd if="$TF_TMP/data" of="$MNT/volume" bs=65536 seek=3 conv=notrunc status=none
  cmp "$IMG" "$MNT/volume" || fail_msg "volume and image differ"
  cmp -n 65536 -i 196608:0 "$IMG" "$TF_TMP/data" || fail_msg "the data is not in the image at 192K"
}

@test "changes without --json prints a table and a summary line" {
  tf_mount_ok "$IMG" "$MNT"
  do_writes
  run --separate-stderr trackfs changes "$MNT"
  assert_status 0
  [[ "${lines[0]}" =~ ^[[:space:]]*OFFSET[[:space:]]+LENGTH[[:space:]]+SIZE ]] || fail_msg "no table header"
  # 64K: clusters 0, 3-5, 127 make three extents.
  [[ "${lines[1]}" =~ ^[[:space:]]*0[[:space:]]+65536[[:space:]] ]] || fail_msg "first row: ${lines[1]}"
  [[ "${lines[2]}" =~ ^[[:space:]]*196608[[:space:]]+196608[[:space:]] ]] || fail_msg "second row: ${lines[2]}"
  [[ "${lines[3]}" =~ ^[[:space:]]*8323072[[:space:]]+65536[[:space:]] ]] || fail_msg "third row: ${lines[3]}"
  local last="${lines[${#lines[@]} - 1]}"
  [[ "$last" == "3 extent(s), "*"5 of 128 clusters of 64K marked"*"trusted" ]] || fail_msg "summary line: $last"
  assert_eq "${#lines[@]}" 5 "number of lines"
}

@test "changes of a fresh mount: no extents, a summary line" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.extents' <<< "$output")" "[]" "extents"
  assert_eq "$(json 'j.changedBytes' <<< "$output")" 0 "changedBytes"
  run --separate-stderr trackfs changes "$MNT"
  assert_status 0
  assert_eq "${#lines[@]}" 1 "number of lines"
  [[ "$output" == "0 extent(s), "*"trusted" ]] || fail_msg "summary line: $output"
}

@test "status of a mount, text and --json" {
  tf_mount_ok "$IMG" "$MNT"
  do_writes
  run --separate-stderr trackfs status "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.state' <<< "$output")" active "state"
  assert_eq "$(json 'j.durability' <<< "$output")" strict "durability"
  assert_eq "$(json 'j.clusterSize' <<< "$output")" 65536 "clusterSize"
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
  assert_eq "$(json 'j.mountpoint' <<< "$output")" "$MNT" "mountpoint"
  assert_eq "$(json 'j.imageSize' <<< "$output")" "$SIZE" "imageSize"
  assert_eq "$(json 'j.changedClusters' <<< "$output")" 5 "changedClusters"
  assert_eq "$(json 'j.readOnly' <<< "$output")" false "readOnly"
  pid_alive "$(json 'j.pid' <<< "$output")" || fail_msg "the daemon pid is not alive"

  run --separate-stderr trackfs status "$MNT"
  assert_status 0
  [[ "$output" =~ (^|$'\n')state\ +active ]] || fail_msg "no 'state active' line"
  [[ "$output" =~ (^|$'\n')durability\ +strict ]] || fail_msg "no durability line"
  [[ "$output" =~ (^|$'\n')clusters\ +5\ of\ 128\ changed\ \(64K\ each\) ]] || fail_msg "no clusters line"
  [[ "$output" =~ (^|$'\n')trusted\ +yes ]] || fail_msg "no trusted line"
}

@test "status --json reports --durability ordered" {
  tf_mount_ok "$IMG" "$MNT" --durability ordered
  write_at "$MNT/volume" 0 512
  run --separate-stderr trackfs status "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.durability' <<< "$output")" ordered "durability"
  assert_eq "$(json 'j.changedClusters' <<< "$output")" 1 "changedClusters"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  run --separate-stderr trackfs changes "$IMG.trackfs" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" 0 "clusters after unmount"
}

@test "unmount: mount gone, daemon gone, journal clean and still lists the clusters" {
  tf_mount_ok "$IMG" "$MNT" --cluster-size 4K
  do_writes
  local pid
  pid="$(tf_daemon_pid "$MNT")"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  assert_eq "$stderr" "" "stderr of unmount"
  assert_not_mounted "$MNT"
  ! pid_alive "$pid" || fail_msg "daemon $pid still runs after unmount returned"
  [ -z "$(ls -A "$MNT")" ] || fail_msg "the mountpoint is not empty after unmount"

  run --separate-stderr trackfs status "$IMG.trackfs"
  assert_status 0
  [[ "$output" =~ (^|$'\n')state\ +clean ]] || fail_msg "journal is not reported clean"
  run --separate-stderr trackfs status "$IMG.trackfs" --json
  assert_eq "$(json 'j.journalState' <<< "$output")" clean "journalState"
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
  check_changes "$IMG.trackfs" 4096

  # The mountpoint is no longer a trackfs mount.
  run --separate-stderr trackfs status "$MNT"
  assert_fails_with 1 "not a trackfs mountpoint"
}

@test "umount is an alias of unmount" {
  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs umount "$MNT"
  assert_status 0
  assert_not_mounted "$MNT"
}

@test "remount keeps the history (same generation)" {
  tf_mount_ok "$IMG" "$MNT"
  do_writes
  local gen
  gen="$(trackfs changes "$MNT" --json | json 'j.generation')"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0

  tf_mount_ok "$IMG" "$MNT"
  check_changes "$MNT" 65536
  assert_eq "$(json 'j.generation' <<< "$output")" "$gen" "generation"
  # New writes add to it.
  write_at "$MNT/volume" 1048576 1
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(clusters_of 65536 <<< "$output")" "0 3 4 5 16 127" "clusters"
}

@test "--reset-journal gives a new generation and no changes" {
  tf_mount_ok "$IMG" "$MNT"
  do_writes
  local gen
  gen="$(trackfs changes "$MNT" --json | json 'j.generation')"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0

  tf_mount_ok "$IMG" "$MNT" --reset-journal
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  [ "$(json 'j.generation' <<< "$output")" != "$gen" ] || fail_msg "the generation did not change"
  assert_eq "$(json 'j.extents' <<< "$output")" "[]" "extents"
  assert_eq "$(json 'j.changedClusters' <<< "$output")" 0 "changedClusters"
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted"
}

@test "a long sequential dd: listed exactly with --mark-ahead 0, at most 4 MiB more by default" {
  local big
  big="$(tf_image big 32M)"
  head -c 8388608 /dev/urandom > "$TF_TMP/data8m"

  tf_mount_ok "$big" "$MNT" --mark-ahead 0
  dd if="$TF_TMP/data8m" of="$MNT/volume" bs=1M seek=2 conv=notrunc,fsync status=none
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.changedBytes' <<< "$output")" 8388608 "changedBytes, exact marking"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0

  tf_mount_ok "$big" "$MNT" --reset-journal
  run --separate-stderr trackfs status "$MNT"
  assert_status 0
  [[ "$output" == *"marks 4M ahead"* ]] || fail_msg "status does not show mark-ahead: $output"
  dd if="$TF_TMP/data8m" of="$MNT/volume" bs=1M seek=2 conv=notrunc,fsync status=none
  run --separate-stderr trackfs changes "$MNT" --json
  assert_status 0
  local bytes first
  bytes="$(json 'j.changedBytes' <<< "$output")"
  first="$(json 'j.extents[0].offset' <<< "$output")"
  assert_eq "$first" 2097152 "first changed byte"
  [ "$bytes" -ge 8388608 ] && [ "$bytes" -le 12582912 ] || fail_msg "changedBytes $bytes: want 8 MiB to 12 MiB"
  cmp -n 8388608 -i 0:2097152 "$TF_TMP/data8m" "$MNT/volume" || fail_msg "data differs"
}
