/*
 * What the addon's source files share: Node-style errors, argument readers
 * (defined in peek.c) and the relay entry point (defined in splice.c).
 * Everything here is hidden from outside the .node by -fvisibility=hidden.
 */
#ifndef EDGEPLANE_ADDON_H
#define EDGEPLANE_ADDON_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <node_api.h>
#include <uv.h>

#include <stdbool.h>
#include <stdint.h>

#define NAPI_TRY(env, call)                     \
  do {                                          \
    if ((call) != napi_ok) {                    \
      return throw_napi_failure((env), #call);  \
    }                                           \
  } while (0)

/* Throws the pending N-API failure as a JS error unless one is pending already. */
napi_value throw_napi_failure(napi_env env, const char *call);
/* An Error shaped like Node's system errors (code, errno, syscall), or NULL. */
napi_value make_uv_error(napi_env env, int uv_err, const char *syscall);
napi_value throw_uv_error(napi_env env, int uv_err, const char *syscall);
napi_value throw_errno(napi_env env, int err, const char *syscall);
bool read_int_arg(napi_env env, size_t argc, napi_value *argv, size_t index,
                  const char *name, int64_t min, int64_t max, int64_t *out);
bool read_fd_arg(napi_env env, size_t argc, napi_value *argv, int *fd);
napi_value get_undefined(napi_env env);

/* relay(clientFd, upstreamFd, idleMs, cb): see splice.c. */
napi_value native_relay(napi_env env, napi_callback_info info);

#endif
