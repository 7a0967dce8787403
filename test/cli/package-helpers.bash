# Helpers of the package tests (16-package.bats): the package packed once per file and installed
# globally into a temporary prefix, and a private mount namespace per test in which system files
# can be hidden (a machine without libfuse2) or /sbin made writable (install-mount-helper) with
# overlays, so that nothing outside the test changes: other tests, and other users of this
# machine, keep the real /sbin and libraries.

# ------------------------------------------------------------------- package ----

# pkg_setup_file: packs the package (scripts/pack.sh; or uses $TRACKFS_TEST_TARBALL, to test a given
# tarball) and installs it globally into $PKG_TMP/prefix. Sets PKG_TMP, PKG_TGZ, PKG_PREFIX.
pkg_setup_file() {
  PKG_TMP="$(realpath "$(mktemp -d /tmp/trackfs-pkg.XXXXXX)")"
  export PKG_TMP
  if [ -n "${TRACKFS_TEST_TARBALL:-}" ]; then
    PKG_TGZ="$(realpath "$TRACKFS_TEST_TARBALL")"
  else
    PKG_TGZ="$("$TF_ROOT/scripts/pack.sh" "$PKG_TMP")" || return 1
  fi
  export PKG_TGZ
  export PKG_PREFIX="$PKG_TMP/prefix"
  pkg_install "$PKG_PREFIX" "$PKG_TGZ" > "$PKG_TMP/install.log" 2>&1 || {
    cat "$PKG_TMP/install.log" >&2
    return 1
  }
}

pkg_teardown_file() {
  [ -n "${PKG_TMP:-}" ] && rm -rf --one-file-system -- "$PKG_TMP"
}

# pkg_install PREFIX WHAT [NPM OPTIONS...]: npm install -g WHAT into PREFIX.
pkg_install() {
  local prefix=$1 what=$2
  shift 2
  npm install -g --prefix "$prefix" --no-audit --no-fund --loglevel=error "$@" -- "$what"
}

# pkg_use: puts the installed trackfs first on PATH, as `npm install -g` does, and drops the
# helpers' `trackfs` function (the repository's bin), so `trackfs` is the installed one.
pkg_use() {
  unset -f trackfs
  export PATH="$PKG_PREFIX/bin:$PATH"
}

# ---------------------------------------------------------- mount namespace ----

# ns_start: a private mount namespace for this test, kept on $TF_TMP/ns/mnt (a bind mount of its
# own, private, so the namespace can be pinned there). in_ns runs a command inside it.
ns_start() {
  mkdir -p "$TF_TMP/ns"
  mount --bind "$TF_TMP/ns" "$TF_TMP/ns" || return 1
  printf '%s\n' "$TF_TMP/ns" > "$TF_TMP/.state/ns"
  mount --make-private "$TF_TMP/ns"
  : > "$TF_TMP/ns/mnt"
  unshare --mount="$TF_TMP/ns/mnt" --propagation private true
}

# Entering a mount namespace moves the working directory to its root: --wd keeps the caller's, so
# relative paths (mount -t fuse.trackfs disk.img mnt) mean what they mean outside.
in_ns() { nsenter --mount="$TF_TMP/ns/mnt" --wd="$PWD" -- "$@"; }

# ns_overlay DIR [NAME...]: in the namespace, DIR becomes an overlay of itself whose changes go to
# $TF_TMP; each NAME in it is hidden (a whiteout). Prints the overlay's upper directory.
ns_overlay() {
  local dir=$1 ovl n
  shift
  ovl="$(mktemp -d "$TF_TMP/ovl.XXXXXX")" || return 1
  mkdir "$ovl/upper" "$ovl/work"
  for n in "$@"; do mknod "$ovl/upper/$n" c 0 0 || return 1; done
  in_ns mount -t overlay overlay -o "lowerdir=$dir,upperdir=$ovl/upper,workdir=$ovl/work" "$dir" || return 1
  printf '%s\n' "$ovl/upper"
}

# ns_hide PATH...: hides each file from the namespace (grouped by directory).
ns_hide() {
  local p d
  declare -A names=()
  for p in "$@"; do
    d="$(dirname "$p")"
    names[$d]+="$(basename "$p") "
  done
  for d in "${!names[@]}"; do
    # shellcheck disable=SC2086 # the names are file names without spaces (libraries, programs)
    ns_overlay "$d" ${names[$d]} > /dev/null || return 1
  done
}

# ns_without_fuse: hides libfuse.so.2 (the name the loader looks up, and the file behind it) and
# fusermount from the namespace: a machine without the libfuse2 and fuse packages.
ns_without_fuse() {
  local lib fm
  lib="$(ldconfig -p | awk '/libfuse\.so\.2 / { print $NF; exit }')"
  fm="$(command -v fusermount)"
  if [ -z "$lib" ] || [ -z "$fm" ]; then
    echo "ns_without_fuse: libfuse.so.2 or fusermount is not installed here" >&2
    return 1
  fi
  ns_hide "$(realpath "$(dirname "$lib")")/$(basename "$lib")" "$(realpath "$lib")" "$(realpath "$fm")" || return 1
  in_ns sh -c '[ ! -e "$1" ] && ! command -v fusermount' sh "$lib" > /dev/null || {
    echo "ns_without_fuse: FUSE is still visible in the namespace" >&2
    return 1
  }
}

# in_ns_mounted PATH: PATH is a mountpoint in the namespace.
in_ns_mounted() { MP="$(mountinfo_escape "$1")" in_ns awk '$5 == ENVIRON["MP"] { found = 1 } END { exit !found }' /proc/self/mountinfo; }

# ns_stop: ends what runs in the namespace (its trackfs mounts: their daemons unmount them), then
# lets the namespace go. tf_teardown then kills any daemon left, by its registration.
ns_stop() {
  [ -f "$TF_TMP/.state/ns" ] || return 0
  local mnt
  if [ -e "$TF_TMP/ns/mnt" ]; then
    while IFS= read -r mnt; do
      [ -n "$mnt" ] || continue
      if in_ns_mounted "$mnt"; then in_ns timeout 30 "$TF_BIN" unmount --lazy "$mnt" > /dev/null 2>&1 || true; fi
      if in_ns_mounted "$mnt"; then in_ns fusermount -uz -- "$mnt" > /dev/null 2>&1 || true; fi
    done < "$TF_TMP/.state/mounts"
    umount "$TF_TMP/ns/mnt" 2> /dev/null || true
  fi
  umount "$TF_TMP/ns" 2> /dev/null || umount -l "$TF_TMP/ns" 2> /dev/null || true
  rm -f "$TF_TMP/.state/ns"
}

# journal_state JOURNAL: clean, active ... as `status JOURNAL --json` says.
journal_state() {
  "$TF_BIN" status "$1" --json | json 'j.journalState'
}
