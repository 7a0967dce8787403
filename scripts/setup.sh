#!/usr/bin/env bash
# Installs what trackfs needs, then its npm dependencies, then builds it. Idempotent.
#   scripts/setup.sh          runtime: libfuse2 (fuse-native links it) and fuse (fusermount); a C
#                             toolchain and libfuse-dev for trackfs's own addon (native/)
#   scripts/setup.sh --test   also what the tests use: bats, e2fsprogs, util-linux (losetup),
#                             xfsprogs (the journal's disk failing under a writer: xfs_io shutdown),
#                             bmap-tools (bmaptool copy with changes --format bmap), librsvg2-bin
#                             (rsvg-convert: trackfs map --png)
# Installs Debian packages with apt-get when they are missing and we are root; otherwise says
# exactly what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
case "$(uname -s)" in
  Linux)
    have_lib 'libfuse.so.2' || missing+=(libfuse2)
    command -v fusermount >/dev/null 2>&1 || missing+=(fuse)
    command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing+=(build-essential)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    [ -f /usr/include/fuse/fuse.h ] || missing+=(libfuse-dev)
    if [ "$with_tests" = 1 ]; then
      command -v bats >/dev/null 2>&1 || missing+=(bats)
      command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
      command -v losetup >/dev/null 2>&1 || missing+=(util-linux)
      { command -v xfs_io || [ -x /usr/sbin/xfs_io ] || [ -x /sbin/xfs_io ]; } >/dev/null 2>&1 || missing+=(xfsprogs)
      command -v bmaptool >/dev/null 2>&1 || missing+=(bmap-tools)
      command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # Ubuntu 24.04 renamed libfuse2 to libfuse2t64.
        if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
          apt-get install -y -qq "${missing[@]/libfuse2/libfuse2t64}" >/dev/null
        fi
      else
        echo "setup: trackfs needs these packages: ${missing[*]}" >&2
        echo "setup: install them, e.g.: sudo apt-get install ${missing[*]}" >&2
        exit 1
      fi
    fi
    ;;
  Darwin)
    echo "setup: macOS: the CLI's journal tools and the unit tests work without FUSE;" >&2
    echo "setup: 'trackfs mount' needs macFUSE on an Intel Mac (fuse-native has no arm64 build)." >&2
    ;;
esac

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js 20.15 or later is required (https://nodejs.org)" >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=15)?0:1)' \
  || { echo "setup: Node.js 20.15 or later is required (found $(node --version))" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f native/build/Release/trackfs_native.node ] || [ -n "$(find native/src native/binding.gyp -newer native/build/Release/trackfs_native.node 2>/dev/null)" ]; then
  echo "setup: native addon"
  # Required here: setup.sh installed the toolchain, so a failed build is a bug to see, not hide.
  if [ "$(uname -s)" = Linux ]; then node scripts/build-native.mjs --required; else node scripts/build-native.mjs; fi
fi
echo "setup: build"
npx --no-install tsc -p tsconfig.json
