/*
 * relay(): moves bytes both ways between two connected TCP sockets with
 * splice(2) (socket -> pipe -> socket), so TCP and TLS-passthrough edges never
 * copy payload through JS. Same contract as workers/pipe.ts: backpressure, a
 * FIN on one side becomes a FIN to the other while the other direction keeps
 * flowing, an idle timeout, and the first error closes both sides.
 *
 * Driven by one uv_poll_t per socket on the calling thread's loop. A side is
 * watched for READABLE only while its direction's pipe has room, and for
 * WRITABLE only while the opposite direction's pipe holds bytes, so a slow
 * reader stops the relay from reading the fast side: at most one pipe's worth
 * is ever in flight per direction. See native-notes.md.
 */
#define _GNU_SOURCE /* splice, pipe2, F_SETPIPE_SZ */

#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Asked of F_SETPIPE_SZ; when refused (pipe-user-pages limits) the default
 * 64 KiB pipe is used. Bigger pipes mean fewer wakeups per byte. */
#define RELAY_PIPE_BYTES (256 * 1024)
/* Splice rounds per direction per wakeup, so one busy direction cannot hold
 * the thread's loop for long; level-triggered polling brings it back. */
#define RELAY_ROUNDS 8
#define RELAY_RESOURCE_NAME "EdgeplaneRelay"

enum { CLIENT = 0, UPSTREAM = 1 };

typedef enum { REASON_CLOSED, REASON_IDLE, REASON_CLIENT_ERROR, REASON_UPSTREAM_ERROR, REASON_STOPPED } reason_t;
static const char *const REASON_NAMES[] = {"closed", "idle_timeout", "client_error", "upstream_error", "stopped"};

/* One direction. Flow d reads side d and writes side 1 - d (flow 0 is client -> upstream). */
typedef struct flow {
  int pipe_r;
  int pipe_w;
  size_t queued;   /* bytes in the pipe */
  size_t capacity; /* pipe size in bytes */
  uint64_t moved;  /* bytes spliced out to the destination */
  bool full;       /* the pipe refused more while holding bytes: read again once it drains */
  bool eof;
  bool shut;       /* shutdown(destination, SHUT_WR) done */
} flow_t;

/*
 * One relay. Shared by the libuv handles (until the last close callback) and
 * the JS stop()/bytes() functions (until they are garbage collected), so both
 * stay safe to call after the relay is done. Whichever lets go last frees it.
 */
typedef struct relay {
  uv_poll_t polls[2];
  uv_timer_t timer;
  uv_loop_t *loop;
  napi_env env;
  napi_ref callback;
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int fds[2];
  flow_t flows[2];
  int watching[2]; /* events each poll is started with */
  int polls_ready; /* polls initialised so far */
  int open_handles;
  int holders;
  uint64_t idle_ms;
  uint64_t last_active;
  reason_t reason;
  int error; /* errno behind a *_error reason */
  bool started;  /* the relay owns the fds and will call back */
  bool finished;
  bool env_gone; /* the thread is shutting down: never call JS */
} relay_t;

static void release_relay(relay_t *r) {
  if (--r->holders == 0) {
    free(r);
  }
}

static void close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

/* ---- finishing ------------------------------------------------------------ */

static napi_status set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value v;
  napi_status status = napi_create_double(env, value, &v);
  return status == napi_ok ? napi_set_named_property(env, object, name, v) : status;
}

static napi_status set_string(napi_env env, napi_value object, const char *name, const char *value) {
  napi_value v;
  napi_status status = napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  return status == napi_ok ? napi_set_named_property(env, object, name, v) : status;
}

static napi_status make_counts(napi_env env, const relay_t *r, napi_value *out) {
  napi_status status = napi_create_object(env, out);
  if (status == napi_ok) status = set_number(env, *out, "clientToUpstream", (double)r->flows[CLIENT].moved);
  if (status == napi_ok) status = set_number(env, *out, "upstreamToClient", (double)r->flows[UPSTREAM].moved);
  return status;
}

static void call_back(relay_t *r) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  napi_value callback, recv, result, returned;
  bool ready = napi_get_reference_value(env, r->callback, &callback) == napi_ok && callback != NULL &&
               napi_get_global(env, &recv) == napi_ok && make_counts(env, r, &result) == napi_ok &&
               set_string(env, result, "reason", REASON_NAMES[r->reason]) == napi_ok;
  if (ready && r->error != 0) {
    ready = set_string(env, result, "error", uv_err_name(uv_translate_sys_error(r->error))) == napi_ok;
  }
  if (ready) {
    napi_status called = napi_make_callback(env, r->async_context, recv, callback, 1, &result, &returned);
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

/* The last handle is closed: report (unless the thread is going away) and let go. */
static void on_handle_closed(uv_handle_t *handle) {
  relay_t *r = handle->data;
  if (--r->open_handles > 0) {
    return;
  }
  napi_env env = r->env;
  if (r->started && !r->env_gone) {
    call_back(r);
  }
  if (r->callback != NULL) {
    napi_delete_reference(env, r->callback);
    r->callback = NULL;
  }
  if (r->async_context != NULL) {
    napi_async_destroy(env, r->async_context);
    r->async_context = NULL;
  }
  /* Last: the cleanup hook keeps env alive until the calls above are done. */
  if (r->cleanup_hook != NULL) {
    napi_remove_async_cleanup_hook(r->cleanup_hook);
    r->cleanup_hook = NULL;
  }
  release_relay(r);
}

/* Ends the relay once. Handles go through uv_close (freed in its callback);
 * uv_close unregisters each fd from epoll at once, so closing the sockets
 * right after is safe. The callback fires from the last close callback, so
 * stop() never calls JS synchronously. Before the relay has started the
 * caller still owns the sockets, and they stay open. */
static void finish(relay_t *r, reason_t reason, int error) {
  if (r->finished) {
    return;
  }
  r->finished = true;
  r->reason = reason;
  r->error = error;
  uv_close((uv_handle_t *)&r->timer, on_handle_closed);
  for (int side = 0; side < r->polls_ready; side++) {
    uv_close((uv_handle_t *)&r->polls[side], on_handle_closed);
  }
  for (int d = 0; d < 2; d++) {
    close_fd(&r->flows[d].pipe_r);
    close_fd(&r->flows[d].pipe_w);
  }
  if (r->started) {
    close_fd(&r->fds[CLIENT]);
    close_fd(&r->fds[UPSTREAM]);
  }
}

static void fail(relay_t *r, int side, int error) {
  finish(r, side == CLIENT ? REASON_CLIENT_ERROR : REASON_UPSTREAM_ERROR, error);
}

/* ---- moving bytes ---------------------------------------------------------- */

static ssize_t splice_some(int from, int to, size_t len) {
  ssize_t n;
  do {
    n = splice(from, NULL, to, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  return n;
}

/* Moves what flow d can move without blocking. Returns 0, or an errno with
 * *side set to the socket it belongs to. */
static int pump(relay_t *r, int d, int *side) {
  flow_t *f = &r->flows[d];
  int src = r->fds[d];
  int dst = r->fds[1 - d];
  for (int round = 0; round < RELAY_ROUNDS; round++) {
    bool moved = false;
    if (!f->eof && !f->full && f->queued < f->capacity) {
      ssize_t n = splice_some(src, f->pipe_w, f->capacity - f->queued);
      if (n > 0) {
        f->queued += (size_t)n;
        moved = true;
      } else if (n == 0) {
        f->eof = true;
      } else if (errno == EAGAIN) {
        /* Either the socket is empty or the pipe is out of slots (a slot per
         * skb fragment, not per byte). With bytes queued, assume the pipe:
         * draining it clears this, and WRITABLE is watched meanwhile. */
        f->full = f->queued > 0;
      } else {
        *side = d;
        return errno;
      }
    }
    if (f->queued > 0) {
      ssize_t n = splice_some(f->pipe_r, dst, f->queued);
      if (n > 0) {
        f->queued -= (size_t)n;
        f->moved += (uint64_t)n;
        f->full = false;
        moved = true;
      } else if (n < 0 && errno != EAGAIN) {
        *side = 1 - d;
        return errno;
      }
    }
    if (!moved) {
      break;
    }
    r->last_active = uv_now(r->loop);
  }
  if (f->eof && f->queued == 0 && !f->shut) {
    f->shut = true;
    /* ENOTCONN: the peer is gone already; its own read or write reports why. */
    if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
      *side = 1 - d;
      return errno;
    }
  }
  return 0;
}

static void on_poll(uv_poll_t *handle, int status, int events);

/* Starts, changes or stops each poll to match what the flows can do now. */
static int watch(relay_t *r, int *side) {
  for (int s = 0; s < 2; s++) {
    const flow_t *out = &r->flows[s];
    const flow_t *in = &r->flows[1 - s];
    int events = 0;
    if (!out->eof && !out->full && out->queued < out->capacity) events |= UV_READABLE;
    if (in->queued > 0) events |= UV_WRITABLE;
    if (events == r->watching[s]) continue;
    int rc = events == 0 ? uv_poll_stop(&r->polls[s]) : uv_poll_start(&r->polls[s], events, on_poll);
    if (rc != 0) {
      *side = s;
      return rc;
    }
    r->watching[s] = events;
  }
  return 0;
}

static bool flow_done(const flow_t *f) {
  return f->eof && f->queued == 0 && f->shut;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  relay_t *r = handle->data;
  if (r->finished) {
    return;
  }
  int s = handle == &r->polls[CLIENT] ? CLIENT : UPSTREAM;
  if (status < 0) {
    /* libuv reports EPOLLERR as UV_EBADF and stops the poll. Read the
     * socket's pending error; if there is none, just try both flows. */
    r->watching[s] = 0;
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(r->fds[s], SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
      error = errno;
    }
    if (error != 0) {
      fail(r, s, error);
      return;
    }
    events = UV_READABLE | UV_WRITABLE;
  }
  int side = s;
  int error = 0;
  if (events & UV_READABLE) error = pump(r, s, &side);
  if (error == 0 && (events & UV_WRITABLE)) error = pump(r, 1 - s, &side);
  if (error != 0) {
    fail(r, side, error);
    return;
  }
  if (flow_done(&r->flows[CLIENT]) && flow_done(&r->flows[UPSTREAM])) {
    finish(r, REASON_CLOSED, 0);
    return;
  }
  int rc = watch(r, &side);
  if (rc != 0) {
    fail(r, side, -rc); /* libuv errors are negated errnos on Unix */
  }
}

/* Wakeups only record the time; the timer re-arms for the rest of the period
 * (cheaper than a timer restart per wakeup) and fires idle_ms after the last byte. */
static void on_idle(uv_timer_t *timer) {
  relay_t *r = timer->data;
  if (r->finished) {
    return;
  }
  uint64_t idle = uv_now(r->loop) - r->last_active;
  if (idle >= r->idle_ms) {
    finish(r, REASON_IDLE, 0);
  } else {
    uv_timer_start(&r->timer, on_idle, r->idle_ms - idle, 0);
  }
}

/* ---- JS surface ------------------------------------------------------------- */

/* The thread (a worker, or the process) is going away mid-relay: close
 * everything without calling JS, so its loop can be closed cleanly. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  relay_t *r = arg;
  r->env_gone = true;
  finish(r, REASON_STOPPED, 0);
}

static napi_value relay_stop(napi_env env, napi_callback_info info) {
  void *data = NULL;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  relay_t *r = data;
  if (r->started) {
    finish(r, REASON_STOPPED, 0);
  }
  return get_undefined(env);
}

static napi_value relay_bytes(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_value counts;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  NAPI_TRY(env, make_counts(env, data, &counts));
  return counts;
}

static void on_function_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_relay(data);
}

/* A method bound to r; it holds r until garbage collected. */
static napi_status add_method(napi_env env, relay_t *r, napi_value object, const char *name, napi_callback fn) {
  napi_value method;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, r, &method);
  if (status != napi_ok) return status;
  status = napi_add_finalizer(env, method, r, on_function_finalized, NULL, NULL);
  if (status != napi_ok) return status;
  r->holders++;
  return napi_set_named_property(env, object, name, method);
}

static int open_pipe(flow_t *f) {
  int ends[2];
  if (pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) {
    return errno;
  }
  f->pipe_r = ends[0];
  f->pipe_w = ends[1];
  fcntl(f->pipe_w, F_SETPIPE_SZ, RELAY_PIPE_BYTES); /* best effort */
  int size = fcntl(f->pipe_w, F_GETPIPE_SZ);
  f->capacity = size > 0 ? (size_t)size : 65536;
  return 0;
}

/* Gives up on a relay that never started: throws, closes what exists, and
 * leaves both sockets open for the caller, who still owns them. */
static napi_value abandon(napi_env env, relay_t *r, napi_value thrown) {
  finish(r, REASON_STOPPED, 0);
  return thrown;
}

#define RELAY_TRY(env, r, call)                                            \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      return abandon((env), (r), throw_napi_failure((env), #call));        \
    }                                                                      \
  } while (0)

napi_value native_relay(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int64_t client_fd = 0, upstream_fd = 0, idle_ms = 0;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_int_arg(env, argc, argv, 0, "clientFd", 0, INT_MAX, &client_fd) ||
      !read_int_arg(env, argc, argv, 1, "upstreamFd", 0, INT_MAX, &upstream_fd) ||
      !read_int_arg(env, argc, argv, 2, "idleMs", 0, INT32_MAX, &idle_ms)) {
    return NULL;
  }
  napi_valuetype type = napi_undefined;
  if (argc >= 4) {
    NAPI_TRY(env, napi_typeof(env, argv[3], &type));
  }
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"cb\" argument must be of type function");
    return NULL;
  }
  if (client_fd == upstream_fd) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "clientFd and upstreamFd must be different fds");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));

  relay_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    return throw_errno(env, ENOMEM, "relay");
  }
  r->env = env;
  r->loop = loop;
  r->fds[CLIENT] = (int)client_fd;
  r->fds[UPSTREAM] = (int)upstream_fd;
  r->idle_ms = (uint64_t)idle_ms;
  for (int d = 0; d < 2; d++) {
    r->flows[d].pipe_r = r->flows[d].pipe_w = -1;
  }
  for (int d = 0; d < 2; d++) {
    int err = open_pipe(&r->flows[d]);
    if (err != 0) {
      for (int i = 0; i < 2; i++) {
        close_fd(&r->flows[i].pipe_r);
        close_fd(&r->flows[i].pipe_w);
      }
      free(r); /* no libuv handle exists yet */
      return throw_errno(env, err, "pipe2");
    }
  }
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  r->open_handles = 1;
  r->holders = 1;
  for (int s = 0; s < 2; s++) {
    /* Also sets O_NONBLOCK, and fails for a bad fd (EBADF), a regular file
     * (EPERM) or an fd this loop already polls (EEXIST). */
    int rc = uv_poll_init(loop, &r->polls[s], r->fds[s]);
    if (rc != 0) {
      return abandon(env, r, throw_uv_error(env, rc, "uv_poll_init"));
    }
    r->polls[s].data = r;
    r->polls_ready++;
    r->open_handles++;
  }

  napi_value object, name;
  RELAY_TRY(env, r, napi_create_reference(env, argv[3], 1, &r->callback));
  RELAY_TRY(env, r, napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->cleanup_hook));
  RELAY_TRY(env, r, napi_create_object(env, &object));
  RELAY_TRY(env, r, add_method(env, r, object, "stop", relay_stop));
  RELAY_TRY(env, r, add_method(env, r, object, "bytes", relay_bytes));
  RELAY_TRY(env, r, napi_create_string_utf8(env, RELAY_RESOURCE_NAME, NAPI_AUTO_LENGTH, &name));
  RELAY_TRY(env, r, napi_async_init(env, object, name, &r->async_context));

  int side = CLIENT;
  int rc = watch(r, &side);
  if (rc != 0) {
    return abandon(env, r, throw_uv_error(env, rc, "uv_poll_start"));
  }
  /* Committed: from here on the relay owns both sockets. Forwarding adds no
   * Nagle delay of its own; the senders' own segmentation already applies. */
  r->started = true;
  int one = 1;
  setsockopt(r->fds[CLIENT], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(r->fds[UPSTREAM], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  r->last_active = uv_now(loop);
  if (r->idle_ms > 0) {
    uv_timer_start(&r->timer, on_idle, r->idle_ms, 0);
  }
  return object;
}
