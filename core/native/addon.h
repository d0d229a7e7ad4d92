/*
 * What the addon's source files share: Node-style errors, argument readers
 * (defined in peek.c) and the entry points defined in splice.c, dial.c and
 * accept.c.
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
/* Checks that argv[index] is a function; throws ERR_INVALID_ARG_TYPE otherwise. */
bool read_function_arg(napi_env env, size_t argc, napi_value *argv, size_t index, const char *name);
napi_value get_undefined(napi_env env);

/* Per-env state (napi_set_instance_data), made in the module init in peek.c. */
typedef struct addon_data {
  napi_ref relay_class; /* the class of relay()/relayTo()'s { stop, bytes } objects */
} addon_data_t;

/* splice.c: defines that class once per env. */
napi_status define_relay_class(napi_env env, napi_ref *out);

/* relay(clientFd, upstreamFd, idleMs, cb): see splice.c. */
napi_value native_relay(napi_env env, napi_callback_info info);
/* relayTo(clientFd, ip, port, connectTimeoutMs, idleMs, onDial, done): see dial.c. */
napi_value native_relay_to(napi_env env, napi_callback_info info);
/* acceptLoop(listenFd, cb, onError?): see accept.c. */
napi_value native_accept_loop(napi_env env, napi_callback_info info);

#endif
