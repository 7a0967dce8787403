#!/bin/bash
# threads.sh PID: one line "TID CLASS" per thread of a trackfs daemon (or any process), CLASS from
# the thread's stack (gdb): main (the JS thread), libfuse (fuse-native's libfuse worker threads),
# uvpool (libuv threadpool: image and journal I/O), v8platform (GC and compiler helpers),
# inspector, or the thread's name.
set -euo pipefail
P=$1
timeout 60 gdb -p "$P" -batch -ex "thread apply all bt 30" 2>/dev/null | awk -v pid="$P" '
/^Thread/ { if (tid) print tid, cls; match($0, /LWP [0-9]+/); tid=substr($0, RSTART+4, RLENGTH-4); cls=(tid==pid ? "main" : "other"); next }
/libfuse\.so|fuse_loop_mt|fuse_session_loop/ { cls="libfuse" }
/ worker \(/ { if (cls=="other") cls="uvpool" }
/WorkerThreadsTaskRunner|PlatformWorker/ { if (cls=="other") cls="v8platform" }
/inspector/ { if (cls=="other") cls="inspector" }
END { if (tid) print tid, cls }' | while read -r tid cls; do
  if [ "$cls" = other ]; then cls=$(tr ' ' '_' < "/proc/$P/task/$tid/comm" 2>/dev/null || echo gone); fi
  echo "$tid $cls"
done
