{
  "targets": [
    {
      "target_name": "trackfs_native",
      "sources": ["src/addon.c", "src/fsid.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["src/fsid.c"], "sources": ["src/fsid-other.c"] }]
      ]
    }
  ]
}
