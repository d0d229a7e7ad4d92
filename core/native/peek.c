/*
 * edgeplane native addon: the few socket syscalls Node cannot do for us.
 *
 * Node cannot move a socket between threads and cannot read bytes without
 * consuming them. The acceptor therefore dup()s the accepted fd, waits for it
 * to become readable on its own loop, recv(MSG_PEEK)s the ClientHello and
 * posts the fd number to a worker, which wraps it with net.Socket({ fd }).
 * See native-notes.md for the fd ownership rules.
 *
 * Plain C against node_api.h (no node-addon-api). Context-aware and free of
 * static JS state, so it loads in worker threads too. The splice(2) relay for
 * TCP and TLS-passthrough edges lives in splice.c; addon.h is what they share.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* A TLS record is at most 16 KiB + 5, so the usual peek fits on the stack. */
#define PEEK_STACK_BYTES 16384
#define PEEK_MAX_BYTES (16 * 1024 * 1024)
#define WAIT_RESOURCE_NAME "EdgeplaneWaitReadable"

/* ---- errors ------------------------------------------------------------ */

/* Throws the pending N-API failure as a JS error unless one is pending already. */
napi_value throw_napi_failure(napi_env env, const char *call) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    return NULL;
  }
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "%s failed: %s", call,
           info != NULL && info->error_message != NULL ? info->error_message : "unknown N-API error");
  napi_throw_error(env, "ERR_EDGEPLANE_NATIVE", msg);
  return NULL;
}

/* Builds an Error shaped like Node's own system errors: code, errno, syscall. */
napi_value make_uv_error(napi_env env, int uv_err, const char *syscall) {
  const char *code = uv_err_name(uv_err);
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s, %s", code, uv_strerror(uv_err), syscall);

  napi_value code_value, msg_value, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_value) != napi_ok ||
      napi_create_error(env, code_value, msg_value, &error) != napi_ok) {
    return NULL;
  }
  if (napi_create_int32(env, uv_err, &errno_value) == napi_ok) {
    napi_set_named_property(env, error, "errno", errno_value);
  }
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) == napi_ok) {
    napi_set_named_property(env, error, "syscall", syscall_value);
  }
  return error;
}

napi_value throw_uv_error(napi_env env, int uv_err, const char *syscall) {
  napi_value error = make_uv_error(env, uv_err, syscall);
  if (error == NULL) {
    return throw_napi_failure(env, "make_uv_error");
  }
  napi_throw(env, error);
  return NULL;
}

napi_value throw_errno(napi_env env, int err, const char *syscall) {
  return throw_uv_error(env, uv_translate_sys_error(err), syscall);
}

/* ---- arguments ----------------------------------------------------------- */

/* Reads argv[index] as an integer in [min, max]; throws like Node's validators otherwise. */
bool read_int_arg(napi_env env, size_t argc, napi_value *argv, size_t index,
                  const char *name, int64_t min, int64_t max, int64_t *out) {
  char msg[160];
  napi_valuetype type = napi_undefined;
  if (index < argc && napi_typeof(env, argv[index], &type) != napi_ok) {
    throw_napi_failure(env, "napi_typeof");
    return false;
  }
  if (index >= argc || type != napi_number) {
    snprintf(msg, sizeof msg, "The \"%s\" argument must be of type number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  double value = 0;
  if (napi_get_value_double(env, argv[index], &value) != napi_ok) {
    throw_napi_failure(env, "napi_get_value_double");
    return false;
  }
  /* The range check comes first so the cast below is defined; NaN fails it. */
  if (!(value >= (double)min && value <= (double)max) || (double)(int64_t)value != value) {
    snprintf(msg, sizeof msg,
             "The value of \"%s\" is out of range. It must be an integer >= %lld and <= %lld",
             name, (long long)min, (long long)max);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (int64_t)value;
  return true;
}

bool read_fd_arg(napi_env env, size_t argc, napi_value *argv, int *fd) {
  int64_t value = 0;
  if (!read_int_arg(env, argc, argv, 0, "fd", 0, INT_MAX, &value)) {
    return false;
  }
  *fd = (int)value;
  return true;
}

bool read_function_arg(napi_env env, size_t argc, napi_value *argv, size_t index, const char *name) {
  napi_valuetype type = napi_undefined;
  if (index < argc && napi_typeof(env, argv[index], &type) != napi_ok) {
    throw_napi_failure(env, "napi_typeof");
    return false;
  }
  if (type != napi_function) {
    char msg[160];
    snprintf(msg, sizeof msg, "The \"%s\" argument must be of type function", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  return true;
}

napi_value get_undefined(napi_env env) {
  napi_value value = NULL;
  napi_get_undefined(env, &value);
  return value;
}

/* ---- dup / close / peek ---------------------------------------------------- */

static napi_value native_dup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_fd_arg(env, argc, argv, &fd)) {
    return NULL;
  }
  /* CLOEXEC so a child process spawned later never inherits client sockets. */
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    return throw_errno(env, errno, "dup");
  }
  napi_value result;
  if (napi_create_int32(env, copy, &result) != napi_ok) {
    close(copy);
    return throw_napi_failure(env, "napi_create_int32");
  }
  return result;
}

static napi_value native_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_fd_arg(env, argc, argv, &fd)) {
    return NULL;
  }
  /* Linux releases the fd even when close() reports EINTR, so retrying could
   * close an fd some other thread just got; EBADF is thrown because it means
   * the ownership rules were broken (a double close). */
  if (close(fd) != 0 && errno != EINTR && errno != EINPROGRESS) {
    return throw_errno(env, errno, "close");
  }
  return get_undefined(env);
}

static napi_value native_peek(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd;
  int64_t max_bytes = 0;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_fd_arg(env, argc, argv, &fd) ||
      !read_int_arg(env, argc, argv, 1, "maxBytes", 1, PEEK_MAX_BYTES, &max_bytes)) {
    return NULL;
  }

  char stack_buf[PEEK_STACK_BYTES];
  char *buf = stack_buf;
  if (max_bytes > PEEK_STACK_BYTES) {
    buf = malloc((size_t)max_bytes);
    if (buf == NULL) {
      return throw_errno(env, ENOMEM, "recv");
    }
  }

  ssize_t n;
  do {
    n = recv(fd, buf, (size_t)max_bytes, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  int err = errno;

  napi_value result = NULL;
  if (n >= 0) {
    /* A 0-length buffer means EOF: the peer closed before sending anything. */
    if (napi_create_buffer_copy(env, (size_t)n, buf, NULL, &result) != napi_ok) {
      result = throw_napi_failure(env, "napi_create_buffer_copy");
    }
  } else if (err == EAGAIN || err == EWOULDBLOCK) {
    if (napi_get_null(env, &result) != napi_ok) {
      result = throw_napi_failure(env, "napi_get_null");
    }
  } else {
    result = throw_errno(env, err, "recv");
  }
  if (buf != stack_buf) {
    free(buf);
  }
  return result;
}

/* Level-triggered readiness plus MSG_PEEK would fire again and again while a
 * partial ClientHello sits queued. SO_RCVLOWAT makes poll report the socket
 * readable only once that many bytes are queued (or on EOF or error). It is a
 * socket option, so it is shared by every dup of the fd: put it back to 1
 * before handing the fd on. */
static napi_value native_set_rcv_lowat(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd;
  int64_t bytes = 0;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_fd_arg(env, argc, argv, &fd) ||
      !read_int_arg(env, argc, argv, 1, "bytes", 1, PEEK_MAX_BYTES, &bytes)) {
    return NULL;
  }
  int value = (int)bytes;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value) != 0) {
    return throw_errno(env, errno, "setsockopt");
  }
  return get_undefined(env);
}

/* ---- waitReadable -------------------------------------------------------- */

/*
 * One pending wait. It is shared by two owners: the libuv handle (until its
 * close callback) and the JS stop() function (until it is garbage collected),
 * so stop() stays safe to call after the handle is gone. Whichever lets go
 * last frees it.
 */
typedef struct waiter {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int fd;
  bool closing;
  int holders;
} waiter_t;

static void release_waiter(waiter_t *w) {
  if (--w->holders == 0) {
    free(w);
  }
}

static void on_waiter_closed(uv_handle_t *handle) {
  waiter_t *w = handle->data;
  napi_env env = w->env;
  if (w->callback != NULL) {
    napi_delete_reference(env, w->callback);
    w->callback = NULL;
  }
  if (w->async_context != NULL) {
    napi_async_destroy(env, w->async_context);
    w->async_context = NULL;
  }
  /* Last: the cleanup hook keeps env alive until the calls above are done. */
  if (w->cleanup_hook != NULL) {
    napi_remove_async_cleanup_hook(w->cleanup_hook);
    w->cleanup_hook = NULL;
  }
  release_waiter(w);
}

/* Stops polling and frees the handle through uv_close: libuv may still hold
 * it until the close callback runs, so it is never freed directly. */
static void close_waiter(waiter_t *w) {
  if (w->closing) {
    return;
  }
  w->closing = true;
  uv_close((uv_handle_t *)&w->handle, on_waiter_closed);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  waiter_t *w = handle->data;
  if (w->closing) {
    return;
  }
  /* libuv reports EPOLLERR (a reset, say) as UV_EBADF. While the fd is valid
   * that is a socket error, not a bad fd: report ready and let peek() throw
   * the real errno (ECONNRESET ...) without consuming SO_ERROR here. */
  if (status == UV_EBADF && fcntl(w->fd, F_GETFD) != -1) {
    status = 0;
  }
  /* One-shot: close before calling out, so the callback may start a new
   * wait on the same fd (uv_close unregisters the fd from epoll right away). */
  close_waiter(w);

  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  napi_value callback, recv, arg, result;
  bool ready = napi_get_reference_value(env, w->callback, &callback) == napi_ok &&
               callback != NULL && napi_get_global(env, &recv) == napi_ok;
  if (ready) {
    if (status < 0) {
      arg = make_uv_error(env, status, "uv_poll");
      ready = arg != NULL;
    } else {
      ready = napi_get_null(env, &arg) == napi_ok;
    }
  }
  if (ready) {
    napi_status called = napi_make_callback(env, w->async_context, recv, callback, 1, &arg, &result);
    if (called == napi_pending_exception) {
      /* No JS frame is below a libuv callback: hand the throw to
       * process 'uncaughtException' like any other async callback. */
      napi_value exception;
      if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
        napi_fatal_exception(env, exception);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/* The env (a worker thread, or the process) is going away with this wait
 * still pending: close the handle so the loop can be closed cleanly. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  close_waiter(arg);
}

static napi_value poller_stop(napi_env env, napi_callback_info info) {
  void *data = NULL;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  close_waiter(data);
  return get_undefined(env);
}

static void on_stop_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_waiter(data);
}

/* Fails the half-built wait: the handle is live, so it goes through uv_close. */
static napi_value abandon_waiter(napi_env env, waiter_t *w, const char *call) {
  napi_value thrown = throw_napi_failure(env, call);
  close_waiter(w);
  return thrown;
}

#define WAITER_TRY(env, w, call)                  \
  do {                                            \
    if ((call) != napi_ok) {                      \
      return abandon_waiter((env), (w), #call);   \
    }                                             \
  } while (0)

static napi_value native_wait_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int fd;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_fd_arg(env, argc, argv, &fd)) {
    return NULL;
  }
  napi_valuetype type = napi_undefined;
  if (argc >= 2) {
    NAPI_TRY(env, napi_typeof(env, argv[1], &type));
  }
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"cb\" argument must be of type function");
    return NULL;
  }

  /* The calling thread's own loop: the main thread and each worker have one. */
  uv_loop_t *loop = NULL;
  NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));

  waiter_t *w = calloc(1, sizeof *w);
  if (w == NULL) {
    return throw_errno(env, ENOMEM, "uv_poll_init");
  }
  w->env = env;
  w->fd = fd;
  int rc = uv_poll_init(loop, &w->handle, fd);
  if (rc != 0) {
    free(w); /* never initialised, so libuv does not know it */
    return throw_uv_error(env, rc, "uv_poll_init");
  }
  w->handle.data = w;
  w->holders = 1;
  rc = uv_poll_start(&w->handle, UV_READABLE | UV_DISCONNECT, on_poll);
  if (rc != 0) {
    close_waiter(w);
    return throw_uv_error(env, rc, "uv_poll_start");
  }

  napi_value poller, stop, name;
  WAITER_TRY(env, w, napi_create_reference(env, argv[1], 1, &w->callback));
  WAITER_TRY(env, w, napi_add_async_cleanup_hook(env, on_env_cleanup, w, &w->cleanup_hook));
  WAITER_TRY(env, w, napi_create_object(env, &poller));
  WAITER_TRY(env, w, napi_create_function(env, "stop", NAPI_AUTO_LENGTH, poller_stop, w, &stop));
  WAITER_TRY(env, w, napi_add_finalizer(env, stop, w, on_stop_finalized, NULL, NULL));
  w->holders++;
  WAITER_TRY(env, w, napi_set_named_property(env, poller, "stop", stop));
  WAITER_TRY(env, w, napi_create_string_utf8(env, WAIT_RESOURCE_NAME, NAPI_AUTO_LENGTH, &name));
  WAITER_TRY(env, w, napi_async_init(env, poller, name, &w->async_context));
  return poller;
}

/* ---- module ----------------------------------------------------------------- */

static napi_status export_function(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  if (status != napi_ok) {
    return status;
  }
  return napi_set_named_property(env, exports, name, value);
}

static void free_addon_data(napi_env env, void *data, void *hint) {
  (void)hint;
  addon_data_t *d = data;
  if (d->relay_class != NULL) {
    napi_delete_reference(env, d->relay_class);
  }
  free(d);
}

NAPI_MODULE_INIT() {
  addon_data_t *data = calloc(1, sizeof *data);
  if (data == NULL) {
    return throw_errno(env, ENOMEM, "addon init");
  }
  if (napi_set_instance_data(env, data, free_addon_data, NULL) != napi_ok) {
    free(data);
    return throw_napi_failure(env, "napi_set_instance_data");
  }
  if (define_relay_class(env, &data->relay_class) != napi_ok ||
      (export_function(env, exports, "dup", native_dup) != napi_ok ||
      export_function(env, exports, "close", native_close) != napi_ok ||
      export_function(env, exports, "peek", native_peek) != napi_ok ||
      export_function(env, exports, "waitReadable", native_wait_readable) != napi_ok ||
      export_function(env, exports, "setRcvLowat", native_set_rcv_lowat) != napi_ok ||
      export_function(env, exports, "relay", native_relay) != napi_ok ||
      export_function(env, exports, "relayTo", native_relay_to) != napi_ok ||
      export_function(env, exports, "acceptLoop", native_accept_loop) != napi_ok)) {
    return throw_napi_failure(env, "export_function");
  }
  return exports;
}
