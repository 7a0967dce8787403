#!/usr/bin/env bats
# `changes --format bmap|qemu-map`, `--granularity`, `--since A --until B` and `trackfs map`, as a
# user types them; bad input gets one line and a non-zero exit.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 8M)"
  MNT="$(tf_mountpoint mnt)"
}
teardown() { tf_teardown; }

# A mount with 4K clusters that marks exactly what is written, a checkpoint $CP, then writes after it.
mount_and_write() {
  tf_mount_ok "$IMG" "$MNT" --cluster-size 4K --mark-ahead 0
  write_at "$MNT/volume" 0 8192
  CP="$(trackfs checkpoint "$MNT")"
}

@test "changes --format bmap: bmaptool copy brings a stale copy on a loop device up to date" {
  command -v bmaptool > /dev/null || skip "bmaptool is not installed (apt-get install bmap-tools)"
  mount_and_write
  cp "$MNT/volume" stale.img
  write_at "$MNT/volume" 4096 100
  write_at "$MNT/volume" 3000000 70000
  trackfs changes "$MNT" --since "$CP" --format bmap > disk.bmap
  grep -q '<bmap version="2.0">' disk.bmap || fail_msg "not a bmap file: $(head -3 disk.bmap)"
  # Blocks 1 (4096), 732-749 (3000000..3069999): written after the checkpoint, nothing else.
  assert_eq "$(grep -o '<Range [^>]*> [0-9-]* </Range>' disk.bmap | sed 's/.*> \([0-9-]*\) <.*/\1/' | tr '\n' ' ')" "1 732-749 " "ranges"
  LOOP="$(tf_loop stale.img)"
  ! cmp -s "$LOOP" "$MNT/volume" || fail_msg "the copy is not stale"
  run --separate-stderr bmaptool copy --bmap disk.bmap "$MNT/volume" "$LOOP"
  assert_status 0
  cmp "$LOOP" "$MNT/volume" || fail_msg "after bmaptool copy, the copy differs from the volume"
}

@test "changes --format qemu-map: qemu-img map's JSON; its data ranges are the changed ones" {
  mount_and_write
  write_at "$MNT/volume" 1048576 10
  run --separate-stderr trackfs changes "$MNT" --since "$CP" --format qemu-map
  assert_status 0
  assert_eq "$(json 'j.map((e) => [e.start, e.length, e.data, e.present, e.zero].join(":")).join(" ")' <<< "$output")" \
    "0:1048576:false:false:false 1048576:4096:true:true:false 1052672:7335936:false:false:false"
}

@test "changes --granularity 1M: whole MiB ranges, merged" {
  mount_and_write
  write_at "$MNT/volume" 1048576 10
  write_at "$MNT/volume" 4194304 10
  run --separate-stderr trackfs changes "$MNT" --granularity 1M --json
  assert_status 0
  # The MiBs at 0 and 1M touch: one range; 4M stands alone.
  assert_eq "$(json 'j.extents.map((e) => e.offset + "+" + e.length).join(" ")' <<< "$output")" "0+2097152 4194304+1048576" "extents"
  assert_eq "$(json 'j.granularity' <<< "$output")" 1048576
  assert_eq "$(json 'j.changedBytes' <<< "$output")" 3145728
}

@test "changes --since A --until B: what changed between two checkpoints" {
  mount_and_write
  write_at "$MNT/volume" 40960 10
  CP2="$(trackfs checkpoint "$MNT")"
  write_at "$MNT/volume" 81920 10
  run --separate-stderr trackfs changes "$MNT" --since "$CP" --until "$CP2" --json
  assert_status 0
  assert_eq "$(json 'j.extents.map((e) => e.offset + "+" + e.length).join(" ")' <<< "$output")" "40960+4096" "extents"
  assert_eq "$(json 'j.until' <<< "$output")" "$CP2"
  # Offline, from the journal file, the same answer.
  trackfs unmount "$MNT"
  run --separate-stderr trackfs changes "$IMG.trackfs" --since "$CP" --until "$CP2" --json
  assert_status 0
  assert_eq "$(json 'j.extents.map((e) => e.offset + "+" + e.length).join(" ")' <<< "$output")" "40960+4096" "extents offline"
}

@test "changes: bad formats, granularities and ranges get one line and exit 2" {
  mount_and_write
  CP2="$(trackfs checkpoint "$MNT")"
  run --separate-stderr trackfs changes "$MNT" --format xml
  assert_fails_with 2 "format" "xml"
  run --separate-stderr trackfs changes "$MNT" --json --format bmap
  assert_fails_with 2 "two formats"
  run --separate-stderr trackfs changes "$MNT" --granularity lots
  assert_fails_with 2 "--granularity" "lots"
  run --separate-stderr trackfs changes "$MNT" --granularity 6K
  assert_fails_with 2 "not a multiple" "cluster size"
  run --separate-stderr trackfs changes "$MNT" --since "$CP2" --until "$CP"
  assert_fails_with 2 "--until" "before --since"
  run --separate-stderr trackfs changes "$MNT" --since "$CP" --until 0123456789ab:1
  assert_fails_with 2 "different histories"
}

@test "map: a grid of the image with offsets, legend and totals; ASCII when not a terminal" {
  mount_and_write
  write_at "$MNT/volume" 4194304 4096
  run --separate-stderr trackfs map "$MNT" --width 16
  assert_status 0
  # 8 MiB in 32 rows of 16 cells of 16K (4 clusters of 4K), a row every 256K: the first cell has
  # 2 of its 4 clusters changed (up to half), the cell at 4M 1 of 4 (up to a quarter).
  assert_eq "${lines[0]}" "    0 |+...............|"
  assert_eq "${lines[1]}" " 256K |................|"
  assert_eq "${lines[16]}" "   4M |-...............|"
  assert_eq "${#lines[@]}" 34 "rows + legend + totals"
  [[ "${lines[32]}" == ". no change  - up to 25%"*"a cell is 16 KiB (4 cluster(s) of 4K)" ]] || fail_msg "legend: ${lines[32]}"
  [[ "${lines[33]}" == "3 of 2048 clusters changed (0.15%), 12 KiB of 8 MiB, since checkpoint "*"; trusted" ]] || fail_msg "totals: ${lines[33]}"
  # Offline, from the journal file, since the checkpoint: only the cell at 4M.
  trackfs unmount "$MNT"
  run --separate-stderr trackfs map "$IMG.trackfs" --since "$CP" --width 16
  assert_status 0
  assert_eq "${lines[0]}" "    0 |................|"
  assert_eq "${lines[16]}" "   4M |-...............|"
  [[ "${lines[33]}" == "1 of 2048 clusters changed (0.05%), 4 KiB of 8 MiB, since checkpoint $CP; trusted" ]] || fail_msg "totals: ${lines[33]}"
}

@test "map: Unicode shades on a UTF-8 terminal, ASCII with NO_COLOR or a non-UTF-8 locale" {
  command -v script > /dev/null || skip "script (util-linux) is not installed"
  mount_and_write
  local out
  out="$(LANG=C.UTF-8 script -qec "$TF_BIN map $MNT --width 16" /dev/null)"
  [[ "$out" == *"0 │▒···············│"* ]] || fail_msg "no Unicode map: $out"
  out="$(LANG=C.UTF-8 NO_COLOR=1 script -qec "$TF_BIN map $MNT --width 16" /dev/null)"
  [[ "$out" == *"0 |+...............|"* ]] || fail_msg "NO_COLOR did not give ASCII: $out"
  out="$(LANG=C LC_ALL=C script -qec "$TF_BIN map $MNT --width 16" /dev/null)"
  [[ "$out" == *"0 |+...............|"* ]] || fail_msg "a C locale did not give ASCII: $out"
}

@test "map --svg and --png write pictures (0600); bad output paths and widths get one line" {
  mount_and_write
  run --separate-stderr trackfs map "$MNT" --svg map.svg
  assert_status 0
  grep -q '<svg xmlns="http://www.w3.org/2000/svg"' map.svg || fail_msg "not an SVG"
  assert_eq "$(stat -c %a map.svg)" 600 "mode of map.svg"
  if command -v rsvg-convert > /dev/null; then
    run --separate-stderr trackfs map "$MNT" --png map.png
    assert_status 0
    assert_eq "$(head -c 8 map.png | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "PNG signature"
  fi
  ln -s map.svg link.svg
  run --separate-stderr trackfs map "$MNT" --svg link.svg
  assert_fails_with 1 "symbolic link"
  run --separate-stderr trackfs map "$MNT" --svg "$MNT/volume"
  assert_fails_with 1 "volume"
  run --separate-stderr trackfs map "$MNT" --svg "$IMG"
  assert_fails_with 1 "image"
  assert_eq "$(stat -c %s "$IMG")" 8388608 "the image is untouched (its size)"
  run --separate-stderr trackfs map "$MNT" --svg "$IMG.trackfs"
  assert_fails_with 1 "journal"
  run --separate-stderr trackfs map "$MNT" --width 0
  assert_fails_with 2 "--width"
  run --separate-stderr trackfs map "$MNT" --svg same.x --png same.x
  assert_fails_with 2 "same file"
}
