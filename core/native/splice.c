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

#include "relay.h"

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

static const char *const REASON_NAMES[] = {"closed", "idle_timeout", "client_error", "upstream_error", "stopped",
                                           "dial_failed"};

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

void relay_call(relay_t *r, napi_ref callback_ref, relay_arg_fn make_arg) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (callback_ref == NULL || napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  napi_value callback, recv, arg, returned;
  bool ready = napi_get_reference_value(env, callback_ref, &callback) == napi_ok && callback != NULL &&
               napi_get_global(env, &recv) == napi_ok && (arg = make_arg(env, r)) != NULL;
  if (ready) {
    napi_status called = napi_make_callback(env, r->async_context, recv, callback, 1, &arg, &returned);
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

static napi_value make_result(napi_env env, relay_t *r) {
  napi_value result;
  bool ready = make_counts(env, r, &result) == napi_ok &&
               set_string(env, result, "reason", REASON_NAMES[r->reason]) == napi_ok;
  if (ready && r->error != 0) {
    ready = set_string(env, result, "error", uv_err_name(uv_translate_sys_error(r->error))) == napi_ok;
  }
  return ready ? result : NULL;
}

/* The last handle is closed: report (unless the thread is going away) and let go. */
static void on_handle_closed(uv_handle_t *handle) {
  relay_t *r = handle->data;
  if (--r->open_handles > 0) {
    return;
  }
  napi_env env = r->env;
  if (!r->env_gone) {
    if (r->started) {
      relay_call(r, r->callback, make_result);
    } else if (r->reason == REASON_DIAL_FAILED) {
      dial_report_failure(r);
    }
  }
  if (r->callback != NULL) {
    napi_delete_reference(env, r->callback);
    r->callback = NULL;
  }
  if (r->dial_callback != NULL) {
    napi_delete_reference(env, r->dial_callback);
    r->dial_callback = NULL;
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
 * stop() never calls JS synchronously. Only the sockets in owns[] are closed:
 * before the relay has started the caller still owns its sockets. */
void relay_finish(relay_t *r, reason_t reason, int error) {
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
  for (int side = 0; side < 2; side++) {
    if (r->owns[side]) {
      close_fd(&r->fds[side]);
    }
  }
}

void relay_fail(relay_t *r, int side, int error) {
  relay_finish(r, side == CLIENT ? REASON_CLIENT_ERROR : REASON_UPSTREAM_ERROR, error);
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
      relay_fail(r, s, error);
      return;
    }
    events = UV_READABLE | UV_WRITABLE;
  }
  int side = s;
  int error = 0;
  if (events & UV_READABLE) error = pump(r, s, &side);
  if (error == 0 && (events & UV_WRITABLE)) error = pump(r, 1 - s, &side);
  if (error != 0) {
    relay_fail(r, side, error);
    return;
  }
  if (flow_done(&r->flows[CLIENT]) && flow_done(&r->flows[UPSTREAM])) {
    relay_finish(r, REASON_CLOSED, 0);
    return;
  }
  int rc = watch(r, &side);
  if (rc != 0) {
    relay_fail(r, side, -rc); /* libuv errors are negated errnos on Unix */
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
    relay_finish(r, REASON_IDLE, 0);
  } else {
    uv_timer_start(&r->timer, on_idle, r->idle_ms - idle, 0);
  }
}

/* ---- JS surface ------------------------------------------------------------- */

/* The thread (a worker, or the process) is going away mid-relay: close
 * everything without calling JS, so its loop can be closed cleanly. A relayTo
 * still dialling closes the client fd too: the thread that owned it is going
 * away, and nobody else knows the number. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  relay_t *r = arg;
  r->env_gone = true;
  if (r->dialing) {
    r->owns[CLIENT] = true;
  }
  relay_finish(r, REASON_STOPPED, 0);
}

/* Running: closes both sockets, done(stopped) later. Dialling (relayTo): closes
 * the upstream socket only, onDial(ECANCELED) later. Otherwise a no-op. */
/* The relay behind `this`, or NULL with a TypeError thrown (a method called on another object). */
static relay_t *this_relay(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) {
    throw_napi_failure(env, "napi_get_cb_info");
    return NULL;
  }
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be a Relay");
    return NULL;
  }
  return data;
}

/* Running: closes both sockets, done(stopped) later. Dialling (relayTo): closes
 * the upstream socket only, onDial(ECANCELED) later. Otherwise a no-op. */
static napi_value relay_stop(napi_env env, napi_callback_info info) {
  relay_t *r = this_relay(env, info);
  if (r == NULL) {
    return NULL;
  }
  if (r->started) {
    relay_finish(r, REASON_STOPPED, 0);
  } else if (r->dialing) {
    relay_finish(r, REASON_DIAL_FAILED, ECANCELED);
  }
  return get_undefined(env);
}

static napi_value relay_bytes(napi_env env, napi_callback_info info) {
  napi_value counts;
  relay_t *r = this_relay(env, info);
  if (r == NULL) {
    return NULL;
  }
  NAPI_TRY(env, make_counts(env, r, &counts));
  return counts;
}

static napi_value relay_construct(napi_env env, napi_callback_info info) {
  napi_value self;
  NAPI_TRY(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  return self;
}

/* One class per env, so a relay costs one object and one wrap rather than two
 * fresh functions with a finalizer each (measurable per connection). */
napi_status define_relay_class(napi_env env, napi_ref *out) {
  napi_property_descriptor methods[] = {
    {"stop", NULL, relay_stop, NULL, NULL, NULL, napi_default_method, NULL},
    {"bytes", NULL, relay_bytes, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value constructor;
  napi_status status = napi_define_class(env, "Relay", NAPI_AUTO_LENGTH, relay_construct, NULL, 2, methods, &constructor);
  return status == napi_ok ? napi_create_reference(env, constructor, 1, out) : status;
}

/* The wrapped object is collected: it no longer holds r. */
static void on_object_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_relay(data);
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

int relay_open_pipes(relay_t *r) {
  for (int d = 0; d < 2; d++) {
    int err = open_pipe(&r->flows[d]);
    if (err != 0) {
      for (int i = 0; i < 2; i++) {
        close_fd(&r->flows[i].pipe_r);
        close_fd(&r->flows[i].pipe_w);
      }
      return err;
    }
  }
  return 0;
}

relay_t *relay_alloc(napi_env env, uv_loop_t *loop, int client_fd, int upstream_fd, uint64_t idle_ms) {
  relay_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    return NULL;
  }
  r->env = env;
  r->loop = loop;
  r->fds[CLIENT] = client_fd;
  r->fds[UPSTREAM] = upstream_fd;
  r->idle_ms = idle_ms;
  for (int d = 0; d < 2; d++) {
    r->flows[d].pipe_r = r->flows[d].pipe_w = -1;
  }
  return r;
}

napi_status relay_expose(napi_env env, relay_t *r, napi_value done, napi_value on_dial,
                         const char *resource_name, napi_value *object) {
  napi_value name;
  napi_status status = napi_create_reference(env, done, 1, &r->callback);
  if (status == napi_ok && on_dial != NULL) status = napi_create_reference(env, on_dial, 1, &r->dial_callback);
  if (status == napi_ok) status = napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->cleanup_hook);
  addon_data_t *data = NULL;
  napi_value constructor;
  if (status == napi_ok) status = napi_get_instance_data(env, (void **)&data);
  if (status == napi_ok) status = napi_get_reference_value(env, data->relay_class, &constructor);
  if (status == napi_ok) status = napi_new_instance(env, constructor, 0, NULL, object);
  if (status == napi_ok) status = napi_wrap(env, *object, r, on_object_finalized, NULL, NULL);
  if (status == napi_ok) r->holders++;
  if (status == napi_ok) status = napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name);
  if (status == napi_ok) status = napi_async_init(env, *object, name, &r->async_context);
  return status;
}

/* Forwarding adds no Nagle delay of its own; the senders' own segmentation already applies. */
void relay_commit(relay_t *r) {
  r->started = true;
  r->owns[CLIENT] = r->owns[UPSTREAM] = true;
  int one = 1;
  setsockopt(r->fds[CLIENT], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(r->fds[UPSTREAM], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int relay_run(relay_t *r, int *side) {
  r->last_active = uv_now(r->loop);
  if (r->idle_ms > 0) {
    uv_timer_start(&r->timer, on_idle, r->idle_ms, 0);
  }
  return watch(r, side);
}

/* Gives up on a relay that never started: throws, closes what exists, and
 * leaves the caller's sockets open. */
static napi_value abandon(napi_env env, relay_t *r, napi_value thrown) {
  relay_finish(r, REASON_STOPPED, 0);
  return thrown;
}

napi_value native_relay(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int64_t client_fd = 0, upstream_fd = 0, idle_ms = 0;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_int_arg(env, argc, argv, 0, "clientFd", 0, INT_MAX, &client_fd) ||
      !read_int_arg(env, argc, argv, 1, "upstreamFd", 0, INT_MAX, &upstream_fd) ||
      !read_int_arg(env, argc, argv, 2, "idleMs", 0, INT32_MAX, &idle_ms) ||
      !read_function_arg(env, argc, argv, 3, "cb")) {
    return NULL;
  }
  if (client_fd == upstream_fd) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "clientFd and upstreamFd must be different fds");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));

  relay_t *r = relay_alloc(env, loop, (int)client_fd, (int)upstream_fd, (uint64_t)idle_ms);
  if (r == NULL) {
    return throw_errno(env, ENOMEM, "relay");
  }
  int err = relay_open_pipes(r);
  if (err != 0) {
    free(r); /* no libuv handle exists yet */
    return throw_errno(env, err, "pipe2");
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

  napi_value object;
  if (relay_expose(env, r, argv[3], NULL, RELAY_RESOURCE_NAME, &object) != napi_ok) {
    return abandon(env, r, throw_napi_failure(env, "relay_expose"));
  }
  int side = CLIENT;
  int rc = watch(r, &side);
  if (rc != 0) {
    return abandon(env, r, throw_uv_error(env, rc, "uv_poll_start"));
  }
  /* Committed: from here on the relay owns both sockets. */
  relay_commit(r);
  relay_run(r, &side); /* the polls are already started: cannot fail */
  return object;
}
