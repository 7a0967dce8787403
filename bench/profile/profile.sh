#!/usr/bin/env bash
# bench/profile/profile.sh [OUTDIR]: where a trackfs daemon's time goes, in numbers. As root, after
# a build (npx tsc -p .). Writes OUTDIR (default bench/results/profile) and prints a summary:
#
#   thread-cpu.jsonl   CPU per fio operation split by thread class (JS main thread, libfuse threads,
#                      libuv pool, V8 helpers) for trackfs strict and off, qemu-storage-daemon and
#                      the C passthrough: random 4K write and read at qd1, 1M O_DIRECT write
#                      (rewrites: the image is filled first)
#   perf-*.txt         perf samples of the strict daemon split by stage of a request (perf-split.mjs)
#   cpuprofile.txt     node --cpu-prof of the strict daemon during random 4K rewrites
#   first-touch.txt    strict first-touch sequential write: journal commits and fdatasync latency
#                      (strace -T on the daemon)
#
# PROFILE_ONLY=threads,perf,cpuprof,firsttouch picks sections; PROFILE_SECONDS sets the job length.
# Everything it starts (mounts, daemons, temp dirs) it stops and removes, also on Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/profile"
OUT=${1:-$ROOT/bench/results/profile}
TRACKFS="$ROOT/bin/trackfs.js"
SECONDS_PER_JOB=${PROFILE_SECONDS:-8}
SIZE=1G
ONLY=${PROFILE_ONLY:-threads,perf,cpuprof,firsttouch}   # sections to run
want() { [[ ",$ONLY," == *",$1,"* ]]; }

[ "$(id -u)" = 0 ] || { echo "profile: run as root" >&2; exit 1; }
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "profile: build first (npx tsc -p .)" >&2; exit 1; }
need=()
command -v fio >/dev/null || need+=(fio)
command -v gdb >/dev/null || need+=(gdb)
command -v perf >/dev/null || need+=(linux-perf)
command -v strace >/dev/null || need+=(strace)
command -v qemu-storage-daemon >/dev/null || need+=(qemu-system-common libfuse3-3)
[ -f /usr/include/fuse/fuse.h ] || need+=(libfuse-dev pkg-config gcc)
if [ "${#need[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/trackfs-profile-XXXXXX)
export TRACKFS_RUNTIME_DIR="$WORK/run"
PIDS=()       # servers we started (qsd, passthrough), stopped by pid
MOUNTS=()     # trackfs mountpoints we mounted
cleanup() {
  for m in "${MOUNTS[@]}"; do
    if grep -q " $m " /proc/self/mountinfo; then
      node "$TRACKFS" unmount --lazy "$m" >/dev/null 2>&1 || fusermount -uz "$m" 2>/dev/null || true
    fi
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -Wall -o "$WORK/passthrough" "$ROOT/bench/passthrough.c" $(pkg-config --cflags --libs fuse)

fill() { fio --name=fill --filename="$1" --size=$SIZE --rw=write --bs=1M --end_fsync=1 --ioengine=psync --output-format=terse >/dev/null; }
fio_job() { # FILE KIND -> fio arguments
  local job="--name=j --filename=$1 --size=$SIZE --ioengine=psync"
  local timed="--time_based=1 --runtime=$SECONDS_PER_JOB"
  case $2 in
    randwrite4k) echo "$job --rw=randwrite --bs=4k $timed" ;;
    randread4k)  echo "$job --rw=randread --bs=4k $timed" ;;
    odirect1m)   echo "$job --rw=write --bs=1M --direct=1 $timed" ;;
  esac
}
daemon_pid() {
  node "$TRACKFS" status "$1" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).pid))'
}

# start_server NAME DIR -> sets FILE and SPID (and NODE_OPTIONS_EXTRA for trackfs)
start_server() {
  local name=$1 dir=$2
  mkdir -p "$dir/mnt"
  truncate -s $SIZE "$dir/img"
  case $name in
    strict|off)
      local args=(--durability strict); [ "$name" = off ] && args=(--tracking-off)
      NODE_OPTIONS="${NODE_OPTIONS_EXTRA:-}" node "$TRACKFS" mount "$dir/img" "$dir/mnt" --log-level warn "${args[@]}"
      MOUNTS+=("$dir/mnt"); FILE="$dir/mnt/volume"; SPID=$(daemon_pid "$dir/mnt") ;;
    qsd)
      touch "$dir/export"
      qemu-storage-daemon --blockdev "driver=file,node-name=file0,filename=$dir/img,cache.direct=off" \
        --blockdev driver=raw,node-name=raw0,file=file0 \
        --export "type=fuse,id=exp0,node-name=raw0,mountpoint=$dir/export,writable=on" >/dev/null 2>&1 &
      SPID=$!; PIDS+=("$SPID"); FILE="$dir/export" ;;
    c)
      "$WORK/passthrough" "$dir/img" "$dir/mnt" -f -o big_writes,auto_unmount >/dev/null 2>&1 &
      SPID=$!; PIDS+=("$SPID"); FILE="$dir/mnt/volume" ;;
  esac
  for _ in $(seq 100); do [ -e "$FILE" ] && grep -q " ${FILE%/volume} " /proc/self/mountinfo && return 0; sleep 0.1; done
  echo "profile: $name did not mount" >&2; return 1
}
stop_server() {
  local name=$1 dir=$2
  case $name in
    strict|off) node "$TRACKFS" unmount "$dir/mnt" ;;
    qsd|c) fusermount -u "${FILE%/volume}" 2>/dev/null || true; kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true ;;
  esac
}

if want threads; then
echo "== CPU per operation by thread class (rewrites; $SECONDS_PER_JOB s per job)"
: > "$OUT/thread-cpu.jsonl"
for server in strict off qsd c; do
  dir="$WORK/$server"; start_server $server "$dir"; fill "$FILE"
  for job in randwrite4k randread4k odirect1m; do
    # shellcheck disable=SC2046
    line=$(node "$HERE/thread-cpu.mjs" "$SPID" $(fio_job "$FILE" $job))
    echo "{\"server\":\"$server\",\"job\":\"$job\",${line#\{}" | tee -a "$OUT/thread-cpu.jsonl"
  done
  stop_server $server "$dir"; rm -rf "$dir"
done

fi

if want perf; then
echo "== perf: the strict daemon's main thread by stage"
dir="$WORK/perf"; NODE_OPTIONS_EXTRA=--perf-basic-prof-only-functions start_server strict "$dir"; fill "$FILE"
for job in randwrite4k odirect1m; do
  # shellcheck disable=SC2046
  fio $(fio_job "$FILE" $job) --output-format=terse >/dev/null &
  fpid=$!
  sleep 1
  perf record -q -F 2000 -g -p "$SPID" -o "$WORK/perf.data" -- sleep $((SECONDS_PER_JOB - 3)) >/dev/null 2>&1
  wait $fpid
  "$HERE/threads.sh" "$SPID" > "$WORK/threads.txt"
  perf script -i "$WORK/perf.data" -F tid,ip,sym 2>/dev/null | TOP=5 node "$HERE/perf-split.mjs" "$WORK/threads.txt" > "$OUT/perf-$job.txt"
  echo "-- $job"; sed -n '1,12p' "$OUT/perf-$job.txt"
done
stop_server strict "$dir"; rm -f "/tmp/perf-$SPID.map"; rm -rf "$dir"

fi

if want cpuprof; then
echo "== node --cpu-prof of the strict daemon, random 4K rewrites"
# Node 20 refuses --cpu-prof in NODE_OPTIONS (which `trackfs mount` would pass to the daemon it
# spawns), so the daemon runs in the foreground here: the same runDaemon code in this node process.
dir="$WORK/cpuprof"; start_server strict "$dir"; fill "$FILE"; stop_server strict "$dir"
mkdir -p "$WORK/prof"
node --cpu-prof --cpu-prof-dir="$WORK/prof" "$TRACKFS" mount "$dir/img" "$dir/mnt" --foreground --log-level warn &
SPID=$!; PIDS+=("$SPID"); MOUNTS+=("$dir/mnt")
for _ in $(seq 100); do grep -q " $dir/mnt " /proc/self/mountinfo && break; sleep 0.1; done
# shellcheck disable=SC2046
fio $(fio_job "$dir/mnt/volume" randwrite4k) --output-format=terse >/dev/null
node "$TRACKFS" unmount "$dir/mnt"
wait "$SPID" || true
node "$HERE/cpuprofile-top.mjs" "$(ls "$WORK"/prof/*."$SPID".*.cpuprofile)" 15 | tee "$OUT/cpuprofile.txt"
rm -rf "$dir"

fi

if want firsttouch; then
echo "== strict first touch: 1 GiB sequential write, journal commits and their latency"
dir="$WORK/ft"; start_server strict "$dir"
jfd=$(for f in /proc/"$SPID"/fd/*; do if [ "$(readlink "$f")" = "$dir/img.trackfs" ]; then basename "$f"; fi; done)
strace -f -qq -p "$SPID" -e trace=fdatasync,pwrite64 -T -o "$WORK/strace.txt" &
spid=$!
sleep 1
t0=$(date +%s.%N)
fio --name=ft --filename="$FILE" --size=$SIZE --rw=write --bs=1M --end_fsync=1 --ioengine=psync --output-format=terse >/dev/null
t1=$(date +%s.%N)
kill "$spid"; wait "$spid" 2>/dev/null || true
node "$TRACKFS" status "$dir/mnt" --json > "$WORK/status.json"
stop_server strict "$dir"
node - "$WORK/strace.txt" "$jfd" "$WORK/status.json" "$t0" "$t1" <<'EOF' | tee "$OUT/first-touch.txt"
const [file, jfd, statusFile, t0, t1] = process.argv.slice(2);
const fs = require('node:fs');
const lines = fs.readFileSync(file, 'utf8').split('\n');
// strace -f splits calls that block into "<unfinished ...>" and "<... resumed>": join by pid.
const open = new Map(); const calls = [];
for (const l of lines) {
  let m = /^(\d+)\s+(\w+)\((\d+).*<unfinished \.\.\.>$/.exec(l);
  if (m) { open.set(m[1], { call: m[2], fd: m[3] }); continue; }
  m = /^(\d+)\s+<\.\.\. (\w+) resumed>.*<([\d.]+)>$/.exec(l);
  if (m) { const o = open.get(m[1]); if (o) calls.push({ ...o, t: Number(m[3]) }); open.delete(m[1]); continue; }
  m = /^(\d+)\s+(\w+)\((\d+).*<([\d.]+)>$/.exec(l);
  if (m) calls.push({ call: m[2], fd: m[3], t: Number(m[4]) });
}
const st = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const us = (xs, p) => `${(q(xs, p) * 1e6).toFixed(0)} µs`;
const show = (name, xs) => console.log(`${name}: n=${xs.length}, p50 ${us(xs, 0.5)}, p90 ${us(xs, 0.9)}, p99 ${us(xs, 0.99)},`
  + ` sum ${xs.reduce((a, b) => a + b, 0).toFixed(2)} s`);
const wall = Number(t1) - Number(t0);
console.log(`1 GiB written in ${wall.toFixed(2)} s under strace (${(1073.741824 / wall).toFixed(0)} MB/s);`
  + ` journal commits ${st.commits}, fdatasyncs ${st.syncs}, clusters ${st.changedClusters}`);
show('journal fdatasync', calls.filter((c) => c.call === 'fdatasync' && c.fd === jfd).map((c) => c.t));
show('journal page pwrite', calls.filter((c) => c.call === 'pwrite64' && c.fd === jfd).map((c) => c.t));
show('image pwrite (128 KiB)', calls.filter((c) => c.call === 'pwrite64' && c.fd !== jfd).map((c) => c.t));
EOF
fi
echo "profile: wrote $OUT"
