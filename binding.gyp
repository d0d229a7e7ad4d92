{
  "targets": [
    {
      "target_name": "edgeplane_native",
      "sources": ["core/native/peek.c", "core/native/splice.c", "core/native/dial.c", "core/native/accept.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      }
    }
  ]
}
