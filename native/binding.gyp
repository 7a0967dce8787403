{
  "variables": {
    # The native data path (src/fastpath*.c) needs libfuse 2's headers (Debian: libfuse-dev). Without
    # them the addon is built without it and trackfs uses its JavaScript data path.
    "have_libfuse%": "<!(pkg-config --exists 'fuse >= 2.9' 2>/dev/null && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "trackfs_native",
      "sources": ["src/addon.c", "src/fsid.c", "src/flock.c", "src/retire-fd.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["src/fsid.c"], "sources": ["src/fsid-other.c"] }],
        ["OS=='linux' and have_libfuse==1", {
          "sources": ["src/fastpath.c", "src/fastpath-fuse.c", "src/fastpath-napi.c"],
          "defines": ["TRACKFS_HAVE_FASTPATH"],
          "cflags": ["<!@(pkg-config --cflags fuse)"],
          # The same libfuse.so.2 that fuse-native's prebuild resolves (it has no RUNPATH either).
          "libraries": ["<!@(pkg-config --libs fuse)"]
        }]
      ]
    }
  ]
}
