#!/usr/bin/env bats
# Other users on the same machine: real unprivileged users, made by each test and removed after.
# The victim has no XDG_RUNTIME_DIR, so its runtime directory is the predictable /tmp/trackfs-UID.

load helpers

SIZE=4194304

setup() {
  tf_setup
  VICTIM="$(tf_user)"
  ATTACKER="$(tf_user)"
  VRUN="/tmp/trackfs-$(id -u "$VICTIM")"
  VHOME="$(tf_user_dir "$VICTIM")"
  AHOME="$(tf_user_dir "$ATTACKER")"
  IMG="$VHOME/img"
  as_user "$VICTIM" truncate -s "$SIZE" "$IMG"
  MNT="$VHOME/mnt"
  as_user "$VICTIM" mkdir "$MNT"
  printf '%s\n' "$MNT" >> "$TF_TMP/.state/mounts"
  ID="$(mount_id "$MNT")"
  # A file of the victim's that a planted symlink points at.
  as_user "$VICTIM" sh -c "echo precious > '$VHOME/victim1'"
}
teardown() { tf_teardown; }

@test "a runtime directory made by another user is refused, and nothing is written through its symlinks" {
  as_user "$ATTACKER" mkdir -m 777 "$VRUN"
  as_user "$ATTACKER" chmod 777 "$VRUN"
  as_user "$ATTACKER" ln -s "$VHOME/victim1" "$VRUN/$ID.json"

  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT"
  assert_eq "$(cat "$VHOME/victim1")" precious "victim file 1"
  assert_fails_with 1 "runtime directory $VRUN" "not yours" "owner uid $(id -u "$ATTACKER")" "mode 0777" "remove it"
  assert_not_mounted "$MNT"

  for cmd in status changes checkpoint eject unmount; do
    run --separate-stderr trackfs_as "$VICTIM" "$cmd" "$MNT"
    assert_fails_with 1 "runtime directory $VRUN" "not yours"
  done
}

@test "a runtime directory that is a symlink is refused" {
  as_user "$ATTACKER" mkdir -m 700 "$AHOME/fake-run"
  as_user "$ATTACKER" chmod 777 "$AHOME/fake-run"
  as_user "$ATTACKER" ln -s "$AHOME/fake-run" "$VRUN"
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT"
  assert_fails_with 1 "runtime directory $VRUN" "symbolic link"
  assert_not_mounted "$MNT"
  [ -z "$(ls -A "$AHOME/fake-run")" ] || fail_msg "files were made in the attacker's directory: $(ls -A "$AHOME/fake-run")"
}

@test "the user's own runtime directory open to others is refused, with the way to fix it" {
  as_user "$VICTIM" mkdir "$VRUN"
  as_user "$VICTIM" chmod 755 "$VRUN"
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT"
  assert_fails_with 1 "runtime directory $VRUN" "open to other users" "mode 0755" "chmod 700 $VRUN"
  assert_not_mounted "$MNT"
  assert_eq "$(stat -c %a "$VRUN")" 755 "mode (not changed behind the user's back)"
}

@test "a control socket of another user is never asked: a fake daemon's 'nothing changed' is not believed" {
  as_user "$VICTIM" mkdir -m 700 "$VRUN"
  # The attacker's fake daemon answers every request with a trusted, empty change list.
  local fake="$AHOME/fake.sock"
  setpriv --reuid="$ATTACKER" --regid="$ATTACKER" --clear-groups -- node -e '
    const reply = { ok: true, result: { imageSize: 4194304, clusterSize: 65536, generation: "0".repeat(32), trusted: true, since: "000000000000:0",
      latestCheckpoint: "000000000000:0", changedClusters: 0, totalClusters: 64, changedBytes: 0, extents: [], state: "active", pid: 1 } };
    require("net").createServer((s) => { s.on("data", () => s.end(JSON.stringify(reply) + "\n")); s.on("error", () => {}); }).listen(process.argv[1]);
  ' "$fake" 3>&- &
  local fake_pid=$!
  local i
  for ((i = 0; i < 50; i++)); do [ -S "$fake" ] && break; sleep 0.1; done
  # Root moves it into the victim's directory (no other user could: the directory is private);
  # this is what an earlier permissive directory would have let the attacker do.
  mv "$fake" "$VRUN/$ID.sock"

  run --separate-stderr trackfs_as "$VICTIM" changes "$MNT" --json
  kill "$fake_pid" 2>/dev/null || true
  assert_fails_with 1 "control socket $VRUN/$ID.sock" "belongs to another user" "owner uid $(id -u "$ATTACKER")"
  assert_eq "$output" "" "stdout"
}

@test "a user's mount: directory 0700, socket, registration and log 0600 under umask 000; the owner can use it, the other user cannot reach it" {
  tf_open_dev_fuse
  run --separate-stderr as_user "$VICTIM" sh -c "umask 000; exec '$TF_BIN' mount '$IMG' '$MNT'"
  assert_status 0
  assert_live_as "$VICTIM" "$MNT" "$SIZE"
  assert_eq "$(stat -c '%a %U' "$VRUN")" "700 $VICTIM" "runtime directory"
  assert_eq "$(stat -c '%a %U %F' "$VRUN/$ID.sock")" "600 $VICTIM socket" "control socket"
  assert_eq "$(stat -c '%a %U' "$VRUN/$ID.json")" "600 $VICTIM" "registration"
  assert_eq "$(stat -c '%a %U' "$VRUN/$ID.log")" "600 $VICTIM" "log"

  # The owner's CLI trusts its own socket.
  run --separate-stderr trackfs_as "$VICTIM" status "$MNT" --json
  assert_status 0
  assert_eq "$(json 'j.state' <<< "$output")" active "state"
  # The other user cannot even see the socket.
  run as_user "$ATTACKER" stat -- "$VRUN/$ID.sock"
  [ "$status" -ne 0 ] || fail_msg "the other user can reach the control socket"
  run --separate-stderr trackfs_as "$ATTACKER" status "$MNT"
  assert_fails_with 1
  assert_live_as "$VICTIM" "$MNT" "$SIZE"

  run --separate-stderr trackfs_as "$VICTIM" unmount "$MNT"
  assert_status 0
  assert_not_mounted "$MNT"
}

@test "another user's unmount of a mount is refused and says so; the mount stays" {
  tf_open_dev_fuse
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT"
  assert_status 0
  run --separate-stderr trackfs_as "$ATTACKER" unmount "$MNT"
  assert_fails_with 1 "cannot unmount $MNT" "still mounted"
  [[ "$stderr" != *"removed the mount"* ]] || fail_msg "says the mount was removed"
  assert_live_as "$VICTIM" "$MNT" "$SIZE"
  run --separate-stderr trackfs_as "$ATTACKER" unmount --lazy "$MNT"
  assert_fails_with 1 "cannot unmount $MNT" "still mounted"
  assert_live_as "$VICTIM" "$MNT" "$SIZE"
  run --separate-stderr trackfs_as "$VICTIM" unmount "$MNT"
  assert_status 0
  assert_not_mounted "$MNT"
}

@test "--allow-other: the volume has the image's mode, owner and group; others cannot read a 0600 image; read-only drops the write bits" {
  chmod 711 "$TF_TMP"
  local img mnt
  img="$(tf_image rootimg 4M)"
  write_at "$img" 0 4096
  chmod 600 "$img"
  mnt="$(tf_mountpoint rootmnt)"
  tf_mount_ok "$img" "$mnt" --allow-other
  assert_eq "$(stat -c '%a %u %g' "$mnt/volume")" "600 0 0" "volume mode, owner, group"
  run as_user "$ATTACKER" head -c 16 "$mnt/volume"
  [ "$status" -ne 0 ] || fail_msg "another user read a 0600 image through --allow-other"
  [[ "$output" == *"Permission denied"* ]] || fail_msg "not refused with EACCES: $output"
  run trackfs unmount "$mnt"
  assert_status 0

  # Group-readable, owned by the victim: the group may read, the volume says so.
  chown "$VICTIM:$VICTIM" "$img"
  chmod 640 "$img"
  tf_mount_ok "$img" "$mnt" --allow-other --read-only
  assert_eq "$(stat -c '%a %U %G' "$mnt/volume")" "440 $VICTIM $VICTIM" "read-only volume mode, owner, group"
  run as_user "$VICTIM" head -c 16 "$mnt/volume"
  assert_status 0
  run as_user "$ATTACKER" head -c 16 "$mnt/volume"
  [ "$status" -ne 0 ] || fail_msg "another user read a 0640 image he has no group of"
  run trackfs unmount "$mnt"
  assert_status 0
}

@test "a mountpoint the user cannot reach or read is reported as such, not as missing" {
  # A directory the user cannot enter: the mountpoint inside it cannot be reached.
  mkdir -m 700 "$VHOME/locked"
  mkdir "$VHOME/locked/mnt"
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$VHOME/locked/mnt"
  assert_fails_with 1 "mountpoint $VHOME/locked/mnt" "permission denied"
  [[ "$stderr" != *"does not exist"* ]] || fail_msg "reported as missing"
  for cmd in status changes unmount; do
    run --separate-stderr trackfs_as "$VICTIM" "$cmd" "$VHOME/locked/mnt"
    assert_fails_with 1 "$VHOME/locked/mnt" "permission denied"
    [[ "$stderr" != *"does not exist"* ]] || fail_msg "$cmd: reported as missing"
  done
  # A directory the user can enter but not list: whether it is empty cannot be told.
  mkdir -m 311 "$VHOME/unlistable"
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$VHOME/unlistable"
  assert_fails_with 1 "mountpoint $VHOME/unlistable" "not readable"
  assert_not_mounted "$VHOME/unlistable"
}

@test "a user who cannot open /dev/fuse is told so before anything is written, and how to fix it" {
  # The mode some machines ship (and this one may have): closed to all but root.
  [ -f "$TF_TMP/.state/dev-fuse-mode" ] || stat -c %a /dev/fuse > "$TF_TMP/.state/dev-fuse-mode"
  chmod 0600 /dev/fuse
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT"
  assert_fails_with 1 "/dev/fuse is not readable and writable by you" "mode 0600" "chmod 0666 /dev/fuse"
  assert_not_mounted "$MNT"
  [ ! -e "$IMG.trackfs" ] || fail_msg "a journal was made for a mount that could not be"
}

@test "--allow-other as a user without user_allow_other in /etc/fuse.conf is refused before anything is written" {
  if grep -qx '[[:space:]]*user_allow_other[[:space:]]*' /etc/fuse.conf 2>/dev/null; then
    skip "/etc/fuse.conf allows allow_other to users here"
  fi
  tf_open_dev_fuse
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT" --allow-other
  assert_fails_with 1 "--allow-other needs a line user_allow_other in /etc/fuse.conf" "or mount without --allow-other"
  assert_not_mounted "$MNT"
  [ ! -e "$IMG.trackfs" ] || fail_msg "a journal was made for a mount that could not be"
  # Without the option the same user mounts.
  run --separate-stderr trackfs_as "$VICTIM" mount "$IMG" "$MNT"
  assert_status 0
  run --separate-stderr trackfs_as "$VICTIM" unmount "$MNT"
  assert_status 0
}
