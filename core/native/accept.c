/*
 * acceptLoop(): accepts on a listening socket without a net.Socket per
 * connection. net.Server makes a Socket (handle, streams, GC) for every
 * accepted connection, which the acceptor dups and destroys at once; here
 * accept4() hands back the fd, and JS gets the fd number and the addresses.
 *
 * One uv_poll_t (READABLE) on the calling thread's loop. Each wakeup accepts
 * until EAGAIN, at most ACCEPT_BATCH connections, and calls JS once per
 * connection inside one callback scope for the batch. Out of fds (EMFILE,
 * ENFILE) or memory it stops polling for ACCEPT_BACKOFF_MS instead of
 * spinning on a level-triggered readable socket. See native-notes.md.
 */
#define _GNU_SOURCE /* accept4 */

#include "addon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections per wakeup: the rest wait for the next loop turn (level-triggered). */
#define ACCEPT_BATCH 64
#define ACCEPT_BACKOFF_MS 50
#define ACCEPT_RESOURCE_NAME "EdgeplaneAcceptLoop"

/*
 * One loop. Shared by the libuv handles (until the last close callback) and
 * the JS methods (until garbage collected). Whichever lets go last frees it.
 */
typedef struct acceptor {
  uv_poll_t poll;
  uv_timer_t backoff;
  napi_env env;
  napi_ref callback;
  napi_ref error_callback; /* NULL when none was given */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int fd;
  int open_handles;
  int holders;
  double accepted;
  double errors;
  int last_error; /* errno of the last counted error */
  bool closing;
} acceptor_t;

static void release_acceptor(acceptor_t *a) {
  if (--a->holders == 0) {
    free(a);
  }
}

static void on_acceptor_closed(uv_handle_t *handle) {
  acceptor_t *a = handle->data;
  if (--a->open_handles > 0) {
    return;
  }
  napi_env env = a->env;
  if (a->callback != NULL) napi_delete_reference(env, a->callback);
  if (a->error_callback != NULL) napi_delete_reference(env, a->error_callback);
  a->callback = a->error_callback = NULL;
  if (a->async_context != NULL) {
    napi_async_destroy(env, a->async_context);
    a->async_context = NULL;
  }
  /* Last: the cleanup hook keeps env alive until the calls above are done. */
  if (a->cleanup_hook != NULL) {
    napi_remove_async_cleanup_hook(a->cleanup_hook);
    a->cleanup_hook = NULL;
  }
  release_acceptor(a);
}

/* Stops for good: uv_close unregisters the fd from epoll at once, so closing
 * the listening fd right after is safe. No JS runs after this. */
static void close_acceptor(acceptor_t *a) {
  if (a->closing) {
    return;
  }
  a->closing = true;
  uv_close((uv_handle_t *)&a->poll, on_acceptor_closed);
  uv_close((uv_handle_t *)&a->backoff, on_acceptor_closed);
  if (a->fd >= 0) {
    close(a->fd);
    a->fd = -1;
  }
}

/* ---- accepting ---------------------------------------------------------------- */

/* "1.2.3.4" for IPv4 and IPv4-mapped IPv6 (as the acceptor reports them), else IPv6 text. */
static napi_status address_value(napi_env env, const struct sockaddr_storage *ss, napi_value *address, int *port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    *port = ntohs(v4->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    }
    *port = ntohs(v6->sin6_port);
  } else {
    *port = 0;
  }
  return napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, address);
}

/* Calls cb(fd, remoteAddress, remotePort, localAddress, localPort). If building
 * the arguments fails the connection is closed: JS never saw it. */
static void deliver(acceptor_t *a, napi_value callback, napi_value recv, int fd, const struct sockaddr_storage *peer) {
  napi_env env = a->env;
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
    memset(&local, 0, sizeof local);
  }
  napi_value argv[5], result;
  int remote_port = 0, local_port = 0;
  if (napi_create_int32(env, fd, &argv[0]) != napi_ok ||
      address_value(env, peer, &argv[1], &remote_port) != napi_ok ||
      napi_create_int32(env, remote_port, &argv[2]) != napi_ok ||
      address_value(env, &local, &argv[3], &local_port) != napi_ok ||
      napi_create_int32(env, local_port, &argv[4]) != napi_ok) {
    close(fd);
    return;
  }
  a->accepted++;
  /* From here the fd is the callback's, even if it throws. */
  if (napi_call_function(env, recv, callback, 5, argv, &result) == napi_pending_exception) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
      napi_fatal_exception(env, exception);
    }
  }
}

static void report_error(acceptor_t *a, napi_value recv, int error) {
  napi_env env = a->env;
  napi_value callback, err, result;
  if (a->error_callback == NULL || napi_get_reference_value(env, a->error_callback, &callback) != napi_ok ||
      callback == NULL || (err = make_uv_error(env, uv_translate_sys_error(error), "accept4")) == NULL) {
    return;
  }
  if (napi_call_function(env, recv, callback, 1, &err, &result) == napi_pending_exception) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
      napi_fatal_exception(env, exception);
    }
  }
}

static void on_readable(uv_poll_t *handle, int status, int events);

static void on_backoff_over(uv_timer_t *timer) {
  acceptor_t *a = timer->data;
  if (!a->closing) {
    uv_poll_start(&a->poll, UV_READABLE, on_readable);
  }
}

/* Errors that belong to one connection (Linux passes pending network errors
 * on through accept): skip it and accept the next. */
static bool connection_error(int error) {
  switch (error) {
    case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
    case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH: case EPERM:
      return true;
    default:
      return false;
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  acceptor_t *a = handle->data;
  if (a->closing) {
    return;
  }
  napi_env env = a->env;
  napi_handle_scope scope;
  napi_callback_scope callback_scope;
  napi_value callback, recv;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  if (napi_get_reference_value(env, a->callback, &callback) != napi_ok || callback == NULL ||
      napi_get_global(env, &recv) != napi_ok ||
      napi_open_callback_scope(env, recv, a->async_context, &callback_scope) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  /* One callback scope for the batch: nextTicks and microtasks queued by the
   * callbacks run once, when it closes, as after one net.Server 'connection'. */
  for (int n = 0; n < ACCEPT_BATCH && !a->closing; n++) {
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    int fd = accept4(a->fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      deliver(a, callback, recv, fd, &peer);
      continue;
    }
    int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      break;
    }
    if (connection_error(error)) {
      continue;
    }
    /* EMFILE, ENFILE, ENOBUFS, ENOMEM or worse: the socket stays readable, so
     * polling on would spin. Pause, and try again in a while. */
    a->errors++;
    a->last_error = error;
    uv_poll_stop(&a->poll);
    uv_timer_start(&a->backoff, on_backoff_over, ACCEPT_BACKOFF_MS, 0);
    report_error(a, recv, error);
    break;
  }
  napi_close_callback_scope(env, callback_scope);
  napi_close_handle_scope(env, scope);
}

/* ---- JS surface ------------------------------------------------------------- */

static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  close_acceptor(arg);
}

static napi_value acceptor_stop(napi_env env, napi_callback_info info) {
  void *data = NULL;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  close_acceptor(data);
  return get_undefined(env);
}

static napi_value acceptor_accepted(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_value value;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  NAPI_TRY(env, napi_create_double(env, ((acceptor_t *)data)->accepted, &value));
  return value;
}

static napi_value acceptor_errors(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_value value;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  NAPI_TRY(env, napi_create_double(env, ((acceptor_t *)data)->errors, &value));
  return value;
}

static void on_method_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_acceptor(data);
}

/* Fails the half-built loop: the handles are live, so they go through uv_close.
 * The listening fd is the caller's again. */
static napi_value abandon_acceptor(napi_env env, acceptor_t *a, const char *call) {
  napi_value thrown = throw_napi_failure(env, call);
  a->fd = -1;
  close_acceptor(a);
  return thrown;
}

#define ACCEPTOR_TRY(env, a, call)                  \
  do {                                              \
    if ((call) != napi_ok) {                        \
      return abandon_acceptor((env), (a), #call);   \
    }                                               \
  } while (0)

/* stop(), which may outlive the object, holds a until collected; the getters
 * are reachable only through the object, whose finalizer stands for them. */
static napi_status define_methods(napi_env env, acceptor_t *a, napi_value object) {
  napi_value stop;
  napi_status status = napi_create_function(env, "stop", NAPI_AUTO_LENGTH, acceptor_stop, a, &stop);
  if (status == napi_ok) status = napi_add_finalizer(env, stop, a, on_method_finalized, NULL, NULL);
  if (status != napi_ok) return status;
  a->holders++;
  napi_property_descriptor props[] = {
    {"stop", NULL, NULL, NULL, NULL, stop, napi_enumerable, NULL},
    {"accepted", NULL, NULL, acceptor_accepted, NULL, NULL, napi_enumerable, a},
    {"acceptErrors", NULL, NULL, acceptor_errors, NULL, NULL, napi_enumerable, a},
  };
  status = napi_define_properties(env, object, 3, props);
  if (status == napi_ok) status = napi_add_finalizer(env, object, a, on_method_finalized, NULL, NULL);
  if (status == napi_ok) a->holders++;
  return status;
}

/*
 * acceptLoop(listenFd, cb, onError?): from a successful call on, the loop owns
 * listenFd and closes it in stop() (or at thread teardown). Throws, taking
 * nothing, for bad arguments, a bad fd (EBADF), a non-socket (EPERM), a
 * socket that is not listening (EINVAL) or an fd this thread polls (EEXIST).
 */
napi_value native_accept_loop(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_fd_arg(env, argc, argv, &fd) || !read_function_arg(env, argc, argv, 1, "cb")) {
    return NULL;
  }
  napi_valuetype error_type = napi_undefined;
  if (argc >= 3) {
    NAPI_TRY(env, napi_typeof(env, argv[2], &error_type));
  }
  if (error_type != napi_undefined && !read_function_arg(env, argc, argv, 2, "onError")) {
    return NULL;
  }
  int listening = 0;
  socklen_t len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
    return throw_errno(env, errno, "getsockopt");
  }
  if (!listening) {
    return throw_errno(env, EINVAL, "getsockopt");
  }
  uv_loop_t *loop = NULL;
  NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));

  acceptor_t *a = calloc(1, sizeof *a);
  if (a == NULL) {
    return throw_errno(env, ENOMEM, "acceptLoop");
  }
  a->env = env;
  a->fd = fd;
  /* Also sets O_NONBLOCK (shared with every dup of the listening socket). */
  int rc = uv_poll_init(loop, &a->poll, fd);
  if (rc != 0) {
    free(a); /* never initialised, so libuv does not know it */
    return throw_uv_error(env, rc, "uv_poll_init");
  }
  uv_timer_init(loop, &a->backoff);
  a->poll.data = a;
  a->backoff.data = a;
  a->open_handles = 2;
  a->holders = 1;

  napi_value object, name;
  ACCEPTOR_TRY(env, a, napi_create_reference(env, argv[1], 1, &a->callback));
  if (error_type != napi_undefined) {
    ACCEPTOR_TRY(env, a, napi_create_reference(env, argv[2], 1, &a->error_callback));
  }
  ACCEPTOR_TRY(env, a, napi_add_async_cleanup_hook(env, on_env_cleanup, a, &a->cleanup_hook));
  ACCEPTOR_TRY(env, a, napi_create_object(env, &object));
  ACCEPTOR_TRY(env, a, define_methods(env, a, object));
  ACCEPTOR_TRY(env, a, napi_create_string_utf8(env, ACCEPT_RESOURCE_NAME, NAPI_AUTO_LENGTH, &name));
  ACCEPTOR_TRY(env, a, napi_async_init(env, object, name, &a->async_context));
  rc = uv_poll_start(&a->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    a->fd = -1;
    close_acceptor(a);
    return throw_uv_error(env, rc, "uv_poll_start");
  }
  return object;
}
