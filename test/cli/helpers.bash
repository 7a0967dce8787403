# Shared helpers for the trackfs CLI tests (bats 1.8).
#
# Every test gets a private temp dir ($TF_TMP, also the cwd) and a private TRACKFS_RUNTIME_DIR
# inside it, so every daemon registered there was started by this test. Whatever a test creates
# that outlives it (mountpoints, tmpfs mounts, loop devices, daemon pids) is recorded in files
# under $TF_TMP/.state (files, not variables: `run` and `$(...)` are subshells), and teardown
# undoes exactly those, nothing else.

bats_require_minimum_version 1.5.0

TF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TF_BIN="$TF_ROOT/bin/trackfs.js"

# The command as a user types it.
trackfs() { "$TF_BIN" "$@"; }

tf_require_build() {
  [ -f "$TF_ROOT/dist/src/cli/main.js" ] || {
    echo "dist/ is missing: run 'npx tsc -p tsconfig.json' (node scripts/run-tests.mjs does it)" >&2
    return 1
  }
}

tf_setup() {
  tf_require_build
  # Short paths under /tmp: the control socket path must stay under the 108-byte sun_path limit.
  TF_TMP="$(realpath "$(mktemp -d /tmp/trackfs-cli.XXXXXX)")"
  mkdir "$TF_TMP/.state"
  mkdir -m 700 "$TF_TMP/run"
  : > "$TF_TMP/.state/mounts"
  : > "$TF_TMP/.state/other-mounts"
  : > "$TF_TMP/.state/pids"
  : > "$TF_TMP/.state/loops"
  : > "$TF_TMP/.state/users"
  : > "$TF_TMP/.state/paths"
  : > "$TF_TMP/.state/helpers"
  export TRACKFS_RUNTIME_DIR="$TF_TMP/run"
  # Durability records (ordered mode) go to the test's own state directory, made by trackfs.
  export TRACKFS_STATE_DIR="$TF_TMP/state"
  unset TRACKFS_DEBUG
  cd "$TF_TMP" || return 1
}

# ------------------------------------------------------------------ fixtures ----

# tf_image NAME SIZE: a sparse image file; prints its path.
tf_image() {
  truncate -s "$2" "$TF_TMP/$1" && printf '%s\n' "$TF_TMP/$1"
}

# tf_mountpoint NAME: an empty directory, registered for teardown; prints its path.
tf_mountpoint() {
  local p="$TF_TMP/$1"
  mkdir -p -- "$p" && printf '%s\n' "$p" >> "$TF_TMP/.state/mounts" && printf '%s\n' "$p"
}

# tf_tmpfs DIR: mounts a small tmpfs on DIR (registered for teardown).
tf_tmpfs() {
  printf '%s\n' "$1" >> "$TF_TMP/.state/other-mounts"
  mount -t tmpfs -o size=1m tmpfs "$1"
}

# tf_loop IMAGE: attaches a loop device (registered for teardown); prints it.
tf_loop() {
  local dev
  dev="$(losetup -f --show -- "$1")" || return 1
  printf '%s\n' "$dev" >> "$TF_TMP/.state/loops"
  printf '%s\n' "$dev"
}

# tf_mount IMAGE MOUNTPOINT [OPTIONS...]: `trackfs mount` through run (sets $status, $output,
# $stderr); on success records the daemon pid for teardown.
tf_mount() {
  run --separate-stderr trackfs mount "$@"
  if [ "$status" -eq 0 ]; then
    local pid
    pid="$(trackfs status "$2" --json 2>/dev/null | json 'j.pid')" && printf '%s\n' "$pid" >> "$TF_TMP/.state/pids"
  fi
  return 0
}

# tf_mount_ok IMAGE MOUNTPOINT [OPTIONS...]: mount that must succeed.
tf_mount_ok() {
  tf_mount "$@"
  if [ "$status" -ne 0 ]; then
    echo "mount failed (exit $status): $stderr" >&2
    return 1
  fi
}

# tf_daemon_pid MOUNTPOINT
tf_daemon_pid() {
  trackfs status "$1" --json | json 'j.pid'
}

# write_at FILE OFFSET LENGTH: writes LENGTH random bytes at byte OFFSET, in place.
write_at() {
  head -c "$3" /dev/urandom | dd of="$1" bs=65536 iflag=fullblock oflag=seek_bytes seek="$2" conv=notrunc status=none
}

# io_errno OP PATH [ARGS...]: makes one call on PATH from a separate process and prints the errno
# name it failed with (EIO, ENOSPC, EPERM, ...), or "ok". Tests compare these names, never the
# text of an error message. OP and ARGS:
#   write OFFSET LENGTH   LENGTH zero bytes at OFFSET, continuing after a short write (as dd does)
#   read OFFSET LENGTH    one read
#   truncate SIZE | create | unlink | mkdir | rename NEWPATH | symlink TARGET
io_errno() {
  node -e '
    const fs = require("fs");
    const [op, path, a, b] = process.argv.slice(1);
    const calls = {
      write: () => {
        const fd = fs.openSync(path, "r+");
        const buf = Buffer.alloc(Number(b));
        for (let done = 0, n = 1; done < buf.length && n > 0; done += n) n = fs.writeSync(fd, buf, done, buf.length - done, Number(a) + done);
      },
      read: () => fs.readSync(fs.openSync(path, "r"), Buffer.alloc(Number(b)), 0, Number(b), Number(a)),
      truncate: () => fs.truncateSync(path, Number(a)),
      create: () => fs.closeSync(fs.openSync(path, "wx")),
      unlink: () => fs.unlinkSync(path),
      mkdir: () => fs.mkdirSync(path),
      rename: () => fs.renameSync(path, a),
      symlink: () => fs.symlinkSync(a, path),
    };
    if (!calls[op]) { process.stderr.write(`io_errno: unknown op ${op}\n`); process.exit(64); }
    try {
      calls[op]();
      process.stdout.write("ok\n");
    } catch (e) {
      process.stdout.write(`${e.code ?? "unknown"}\n`);
    }' "$@"
}

# flip_byte FILE OFFSET: inverts every bit of one byte, in place.
flip_byte() {
  local b
  b="$(od -An -tu1 -j "$2" -N1 -- "$1" | tr -d ' ')"
  # shellcheck disable=SC2059
  printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# json EXPR: evaluates a JavaScript expression over the JSON on stdin (bound to j); objects and
# arrays print as JSON, everything else as a string.
json() {
  node -e '
    let s = "";
    process.stdin.setEncoding("utf8").on("data", (d) => { s += d; }).on("end", () => {
      const j = JSON.parse(s);
      const v = eval(process.argv[1]);
      process.stdout.write((v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)) + "\n");
    });' "$1"
}

# clusters_of CLUSTER_SIZE: the sorted cluster numbers covered by the extents of a changes
# --json report on stdin, space separated.
clusters_of() {
  json "(() => { const out = []; for (const e of j.extents) for (let c = Math.floor(e.offset / $1); c < Math.ceil((e.offset + e.length) / $1); c++) out.push(c); return out.join(' '); })()"
}

# expected_clusters CLUSTER_SIZE OFFSET:LENGTH...: the sorted, unique clusters those writes touch.
expected_clusters() {
  local cs=$1 w off len c
  shift
  for w in "$@"; do
    off=${w%%:*}
    len=${w##*:}
    for ((c = off / cs; c <= (off + len - 1) / cs; c++)); do echo "$c"; done
  done | sort -n -u | paste -sd' ' -
}

# tf_helper COMMAND...: starts COMMAND in the background (bats' fd 3 closed, so it cannot hold the
# test up), records its pid for teardown; the pid is in $TF_HELPER_PID.
tf_helper() {
  "$@" 3>&- > /dev/null 2>&1 &
  TF_HELPER_PID=$!
  printf '%s\n' "$TF_HELPER_PID" >> "$TF_TMP/.state/helpers"
}

# --------------------------------------------------------------- other users ----

# tf_user: creates a unique unprivileged user and group (removed at teardown, with its
# /tmp/trackfs-UID); prints its name.
tf_user() {
  local name="tfu${$}x${RANDOM}"
  useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$name" > /dev/null || return 1
  printf '%s
' "$name" >> "$TF_TMP/.state/users"
  printf '%s
' "/tmp/trackfs-$(id -u "$name")" >> "$TF_TMP/.state/paths"
  printf '%s
' "$name"
}

# as_user USER COMMAND...: runs COMMAND as USER (its uid and gid, no other groups), with this
# environment minus TRACKFS_RUNTIME_DIR (so the user's own default runtime directory is used).
as_user() {
  local u=$1
  shift
  setpriv --reuid="$u" --regid="$u" --clear-groups -- env -u TRACKFS_RUNTIME_DIR -u XDG_RUNTIME_DIR "$@"
}

# trackfs_as USER ARGS...: trackfs as USER types it.
trackfs_as() {
  local u=$1
  shift
  as_user "$u" "$TF_BIN" "$@"
}

# tf_user_dir USER: a directory under $TF_TMP owned by USER, mode 0700 ($TF_TMP is opened to
# traversal for it); prints its path.
tf_user_dir() {
  chmod 711 "$TF_TMP"
  local d="$TF_TMP/home-$1"
  mkdir -m 700 "$d" && chown "$1:$1" "$d" && printf '%s
' "$d"
}

# tf_open_dev_fuse: lets unprivileged users mount (as a desktop does); teardown restores the mode.
tf_open_dev_fuse() {
  [ -f "$TF_TMP/.state/dev-fuse-mode" ] || stat -c %a /dev/fuse > "$TF_TMP/.state/dev-fuse-mode"
  chmod 0666 /dev/fuse
}

# assert_live_as USER MOUNTPOINT SIZE: assert_live, looking as USER (a FUSE mount without
# allow_other is closed to everyone else, root included).
assert_live_as() {
  local t size
  t="$(mount_fstype "$2")"
  [ "$t" = fuse.trackfs ] || fail_msg "expected a fuse.trackfs mount at $2, mount table says '${t:-nothing}'"
  size="$(as_user "$1" stat -c %s -- "$2/volume")" || fail_msg "$1 cannot stat $2/volume"
  [ "$size" = "$3" ] || fail_msg "volume size $size, expected $3"
}

# mount_id MOUNTPOINT: the id trackfs names a mount's runtime files by (src/util/runtime.ts).
mount_id() {
  printf '%s' "$(realpath -- "$1")" | sha256sum | cut -c1-16
}

# --------------------------------------------------------------- mount table ----

# mountinfo_escape PATH: PATH as /proc/self/mountinfo writes it (space, tab, newline, backslash octal).
mountinfo_escape() {
  local esc=$1
  esc=${esc//\\/\\134}
  esc=${esc// /\\040}
  esc=${esc//$'\t'/\\011}
  esc=${esc//$'\n'/\\012}
  printf '%s' "$esc"
}

# mount_fstype PATH: the file system type mounted at PATH per /proc/self/mountinfo (topmost), or
# nothing. Paths there are escaped (\040 for a space...).
mount_fstype() {
  MP="$(mountinfo_escape "$1")" awk '$5 == ENVIRON["MP"] { for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break } } END { if (t) print t }' /proc/self/mountinfo
}

is_mounted() { [ -n "$(mount_fstype "$1")" ]; }

# pid_alive PID: running (a zombie counts as gone).
pid_alive() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  local st
  st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# wait_for_exit PID [SECONDS]
wait_for_exit() {
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    pid_alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

# wait_unmounted PATH [SECONDS]
wait_unmounted() {
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    is_mounted "$1" || return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- assertions ----

fail_msg() {
  echo "$*" >&2
  [ -n "${output+x}" ] && echo "-- stdout: $output" >&2
  [ -n "${stderr+x}" ] && echo "-- stderr: $stderr" >&2
  return 1
}

assert_status() {
  [ "$status" -eq "$1" ] || fail_msg "expected exit $1, got $status"
}

# assert_no_stack: stderr carries no stack trace nor an `Error:` dump.
assert_no_stack() {
  if grep -Eq '^[[:space:]]+at ' <<< "$stderr"; then fail_msg "stack trace on stderr"; fi
  if grep -q 'Error:' <<< "$stderr"; then fail_msg "'Error:' dump on stderr"; fi
  if grep -q 'node:internal' <<< "$stderr"; then fail_msg "node internals on stderr"; fi
  return 0
}

# assert_one_error_line [PHRASE...]: stderr is exactly one line `trackfs: ...`, containing each
# PHRASE (case-insensitive), and no stack trace.
assert_one_error_line() {
  assert_no_stack
  [ "${#stderr_lines[@]}" -eq 1 ] || fail_msg "expected exactly one line on stderr, got ${#stderr_lines[@]}"
  [[ "${stderr_lines[0]}" == "trackfs: "* ]] || fail_msg "stderr does not start with 'trackfs: '"
  local p lower="${stderr,,}"
  for p in "$@"; do
    [[ "$lower" == *"${p,,}"* ]] || fail_msg "stderr does not mention '$p'"
  done
}

# assert_fails_with CODE PHRASE...: non-zero exit CODE, one error line naming the problem.
assert_fails_with() {
  local code=$1
  shift
  assert_status "$code"
  assert_one_error_line "$@"
}

# assert_live MOUNTPOINT SIZE: the mount is in the kernel table as fuse.trackfs and serves
# MOUNTPOINT/volume with the image's size.
assert_live() {
  local t size
  t="$(mount_fstype "$1")"
  [ "$t" = fuse.trackfs ] || fail_msg "expected a fuse.trackfs mount at $1, mount table says '${t:-nothing}'"
  size="$(stat -c %s -- "$1/volume")" || fail_msg "cannot stat $1/volume"
  [ "$size" = "$2" ] || fail_msg "volume size $size, expected $2"
}

assert_not_mounted() {
  ! is_mounted "$1" || fail_msg "$1 is still mounted ($(mount_fstype "$1"))"
}

assert_eq() {
  [ "$1" = "$2" ] || fail_msg "${3:-value}: expected '$2', got '$1'"
}

# ------------------------------------------------------------------ teardown ----

tf_teardown() {
  [ -n "${TF_TMP:-}" ] && [ -d "$TF_TMP/.state" ] || return 0
  cd / || true
  # Descriptors a test may have left open on a volume.
  exec 8>&- 9>&-
  local mnt pid dev pids=() leftover=0

  # Daemons this test started: recorded ones, plus every registration in the private runtime dir.
  while IFS= read -r pid; do [ -n "$pid" ] && pids+=("$pid"); done < "$TF_TMP/.state/pids"
  local reg
  for reg in "$TRACKFS_RUNTIME_DIR"/*.json; do
    [ -f "$reg" ] || continue
    pid="$(json 'j.pid' < "$reg" 2>/dev/null)" && [ -n "$pid" ] && pids+=("$pid")
  done

  # On failure, show what the daemons logged.
  if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
    local log
    for log in "$TRACKFS_RUNTIME_DIR"/*.log; do
      [ -s "$log" ] || continue
      echo "-- daemon log $log (tail):" >&2
      tail -n 15 "$log" >&2
    done
  fi

  while IFS= read -r mnt; do
    [ -n "$mnt" ] || continue
    if is_mounted "$mnt"; then timeout 30 "$TF_BIN" unmount --lazy "$mnt" > /dev/null 2>&1 || true; fi
    if is_mounted "$mnt"; then fusermount -uz -- "$mnt" > /dev/null 2>&1 || true; fi
    if is_mounted "$mnt"; then
      echo "teardown: $mnt is still mounted" >&2
      leftover=1
    fi
  done < "$TF_TMP/.state/mounts"

  while IFS= read -r mnt; do
    [ -n "$mnt" ] || continue
    if is_mounted "$mnt"; then umount -l -- "$mnt" > /dev/null 2>&1 || true; fi
    if is_mounted "$mnt"; then leftover=1; fi
  done < "$TF_TMP/.state/other-mounts"

  for pid in "${pids[@]}"; do
    wait_for_exit "$pid" 5 && continue
    # Only a trackfs daemon (its pid could in theory have been reused).
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '__daemon'; then
      echo "teardown: killing daemon $pid" >&2
      kill -TERM "$pid" 2>/dev/null || true
      wait_for_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    fi
  done

  while IFS= read -r dev; do
    [ -n "$dev" ] && losetup -d "$dev" 2>/dev/null || true
  done < "$TF_TMP/.state/loops"

  # Helper processes this test started.
  while IFS= read -r pid; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done < "$TF_TMP/.state/helpers"

  # Other users: their daemons (registered in their runtime dirs), /dev/fuse, the users, the dirs.
  local user dir
  while IFS= read -r dir; do
    for reg in "$dir"/*.json; do
      [ -f "$reg" ] || continue
      pid="$(json 'j.pid' < "$reg" 2>/dev/null)" || continue
      if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '__daemon'; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_for_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  done < "$TF_TMP/.state/paths"
  if [ -f "$TF_TMP/.state/dev-fuse-mode" ]; then chmod "$(cat "$TF_TMP/.state/dev-fuse-mode")" /dev/fuse; fi
  while IFS= read -r user; do
    [ -n "$user" ] || continue
    # The user was made by this test: every process it has is one this test started.
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do wait_for_exit "$pid" 5 || true; done
    userdel "$user" > /dev/null 2>&1 || echo "teardown: cannot remove user $user" >&2
  done < "$TF_TMP/.state/users"
  while IFS= read -r dir; do
    [ -n "$dir" ] && rm -rf --one-file-system -- "$dir"
  done < "$TF_TMP/.state/paths"

  if [ "$leftover" -eq 0 ]; then
    rm -rf --one-file-system -- "$TF_TMP"
  else
    echo "teardown: left $TF_TMP in place (a mount is still there)" >&2
  fi
  return 0
}
