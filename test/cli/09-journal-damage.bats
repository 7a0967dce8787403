#!/usr/bin/env bats
# A damaged journal, as a user meets one: cut short, a block zeroed, a header field out of range.
# It is never trusted with fewer changes than it had, and nothing that shows it fails.

load helpers

setup() {
  tf_setup
  IMG="$(tf_image img 4M)"
  MNT="$(tf_mountpoint mnt)"
  J="$IMG.trackfs"
}
teardown() { tf_teardown; }

# A 4 MiB image at 64 KiB clusters: 64 clusters, 1 bitmap page; the journal is 2 header slots,
# 1 bitmap page, 1 era index page and 32 era pages: 147456 bytes.
FULL=147456

# mounted_writes OFFSET LENGTH...: mount, write LENGTH bytes at each OFFSET, unmount cleanly.
mounted_writes() {
  tf_mount_ok "$IMG" "$MNT"
  while [ $# -gt 0 ]; do
    write_at "$MNT/volume" "$1" "$2"
    shift 2
  done
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
}

# set_header_fields JOURNAL JS: rewrites both header slots with h modified by JS (valid checksums).
set_header_fields() {
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    const f = await import(process.argv[1] + "/dist/src/journal/format.js");
    const path = process.argv[2];
    const b = readFileSync(path);
    for (let slot = 0; slot < 2; slot++) {
      const at = slot * f.HEADER_SLOT_SIZE;
      const h = f.decodeHeader(b.subarray(at, at + f.HEADER_SLOT_SIZE));
      new Function("h", process.argv[3])(h);
      f.encodeHeader(h).copy(b, at);
    }
    writeFileSync(path, b);' "$TF_ROOT" "$1" "$2"
}

@test "a journal cut to its header: untrusted with the reason, offline and mounted; it stays untrusted" {
  mounted_writes 65536 100 1048576 5000
  assert_eq "$(stat -c %s "$J")" "$FULL" "journal size"
  truncate -s 8192 "$J"

  run --separate-stderr trackfs changes "$J" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  assert_eq "$(json 'j.reason' <<< "$output")" "journal is shorter than its geometry requires (truncated): 34 pages missing" "reason"
  assert_eq "$(json 'JSON.stringify(j.extents)' <<< "$output")" '[{"offset":0,"length":4194304}]' "extents"
  assert_no_stack
  [[ "$stderr" == "trackfs: warning: "*"truncated"* ]] || fail_msg "no warning that says why"

  run --separate-stderr trackfs status "$J"
  assert_status 0
  [[ "$output" == *"trusted      NO: journal is shorter than its geometry requires (truncated)"* ]] || fail_msg "status does not say why"

  # A mount proceeds, untrusted, and gives the file back its size.
  tf_mount "$IMG" "$MNT"
  assert_status 0
  assert_live "$MNT" 4194304
  assert_eq "$(stat -c %s "$J")" "$FULL" "journal size after the mount"
  run --separate-stderr trackfs changes "$MNT" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted while mounted"
  [[ "$(json 'j.reason' <<< "$output")" == *"truncated"* ]] || fail_msg "the mount's reason does not say truncated"
  write_at "$MNT/volume" 2097152 10
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0

  # A clean unmount does not make it trusted again.
  run --separate-stderr trackfs changes "$J" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted after unmount"
  [[ "$(json 'j.reason' <<< "$output")" == *"truncated"* ]] || fail_msg "reason after unmount: $(json 'j.reason' <<< "$output")"
  assert_eq "$(json 'JSON.stringify(j.extents)' <<< "$output")" '[{"offset":0,"length":4194304}]' "extents after unmount"

  # A checkpoint re-bases it: trusted from here on.
  run --separate-stderr trackfs checkpoint "$J"
  assert_status 0
  run --separate-stderr trackfs changes "$J" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" true "trusted after the re-base"
}

@test "a zeroed journal page that held changes: untrusted, whole image, and a mount keeps it so" {
  mounted_writes 65536 100
  # The bitmap page (after the two header slots) becomes a block of zeros.
  dd if=/dev/zero of="$J" bs=4096 seek=2 count=1 conv=notrunc status=none

  run --separate-stderr trackfs changes "$J" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  assert_eq "$(json 'j.reason' <<< "$output")" "1 journal page that held changes is zeroed or missing" "reason"
  assert_eq "$(json 'j.changedBytes' <<< "$output")" 4194304 "changedBytes"

  tf_mount_ok "$IMG" "$MNT"
  run --separate-stderr trackfs unmount "$MNT"
  assert_status 0
  run --separate-stderr trackfs changes "$J" --json
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted after mount and unmount"
  assert_eq "$(json 'j.reason' <<< "$output")" "1 journal page that held changes is zeroed or missing" "reason after unmount"
}

@test "a time field of 2^53 in both header slots: refused as corrupt in one line, naming the field" {
  mounted_writes 65536 100
  set_header_fields "$J" 'h.lastCheckpointAt = 2 ** 53'
  cp "$J" "$TF_TMP/j.crafted"

  run --separate-stderr trackfs status "$J"
  assert_fails_with 1 "corrupt" "lastCheckpointAt"
  run --separate-stderr trackfs changes "$J" --json
  assert_fails_with 1 "corrupt" "lastCheckpointAt"
  tf_mount "$IMG" "$MNT"
  assert_fails_with 1 "corrupt" "lastCheckpointAt"
  assert_not_mounted "$MNT"
  cmp -s "$J" "$TF_TMP/j.crafted" || fail_msg "a refused reader changed the journal"
}

@test "a header claiming an 8 PiB image in a small file: status and changes answer at once, untrusted" {
  mounted_writes 65536 100
  set_header_fields "$J" 'h.imageSize = Number.MAX_SAFE_INTEGER; h.clusterSize = 4096'
  # A hang guard, not a timing check: loading used to scan 67 million pages.
  run --separate-stderr timeout 120 "$TF_BIN" status "$J" --json
  assert_status 0
  assert_eq "$(json 'j.trusted' <<< "$output")" false "trusted"
  [[ "$(json 'j.reason' <<< "$output")" == *"truncated"* ]] || fail_msg "reason: $(json 'j.reason' <<< "$output")"
  assert_eq "$(json 'j.totalClusters' <<< "$output")" 2199023255552 "totalClusters"
  assert_no_stack
  run --separate-stderr timeout 120 "$TF_BIN" changes "$J" --json
  assert_status 0
  assert_eq "$(json 'JSON.stringify(j.extents)' <<< "$output")" '[{"offset":0,"length":9007199254740991}]' "extents"
}
