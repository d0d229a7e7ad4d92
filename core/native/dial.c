/*
 * relayTo(): dials the upstream from C and, once connected, becomes exactly
 * the splice relay of splice.c, so a worker relaying a tcp or passthrough
 * connection creates no net.Socket at all (Node's costs ~one Socket, its
 * handle, its streams and their GC per connection; this is socket(),
 * connect() and one poll).
 *
 * Non-blocking connect: poll the new socket for WRITABLE, read SO_ERROR, and a
 * uv_timer for the connect timeout. Until it connects, the client fd still
 * belongs to the caller (so failover can try the next endpoint with it); at
 * onDial(null) the relay takes it. See native-notes.md.
 */
#define _GNU_SOURCE

#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_TO_RESOURCE_NAME "EdgeplaneRelayTo"

/* ---- onDial ----------------------------------------------------------------- */

/* Shaped like the error of a failed net.connect: "connect ECONNREFUSED 127.0.0.1:80",
 * with code, errno, syscall, address and port. */
static napi_value make_dial_error(napi_env env, relay_t *r) {
  int uv_err = uv_translate_sys_error(r->error);
  const char *code = uv_err_name(uv_err);
  const char *syscall = r->dial_syscall != NULL ? r->dial_syscall : "connect";
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s %s:%d", syscall, code, r->dial_ip, r->dial_port);
  napi_value code_value, msg_value, error, value;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_value) != napi_ok ||
      napi_create_error(env, code_value, msg_value, &error) != napi_ok) {
    return NULL;
  }
  if (napi_create_int32(env, uv_err, &value) == napi_ok) napi_set_named_property(env, error, "errno", value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value) == napi_ok) {
    napi_set_named_property(env, error, "syscall", value);
  }
  if (napi_create_string_utf8(env, r->dial_ip, NAPI_AUTO_LENGTH, &value) == napi_ok) {
    napi_set_named_property(env, error, "address", value);
  }
  if (napi_create_int32(env, r->dial_port, &value) == napi_ok) napi_set_named_property(env, error, "port", value);
  return error;
}

static napi_value make_null(napi_env env, relay_t *r) {
  (void)r;
  napi_value value = NULL;
  napi_get_null(env, &value);
  return value;
}

/* Called by splice.c from the last close callback: the upstream socket is
 * closed, every handle is gone and the client fd is untouched. */
void dial_report_failure(relay_t *r) {
  relay_call(r, r->dial_callback, make_dial_error);
}

static void dial_fail(relay_t *r, const char *syscall, int error) {
  r->dial_syscall = syscall;
  relay_finish(r, REASON_DIAL_FAILED, error);
}

/* ---- connecting --------------------------------------------------------------- */

static void on_connect_timeout(uv_timer_t *timer) {
  relay_t *r = timer->data;
  if (r->dialing && !r->finished) {
    dial_fail(r, "connect", ETIMEDOUT);
  }
}

static void on_connected(uv_poll_t *handle, int status, int events) {
  (void)events;
  relay_t *r = handle->data;
  if (!r->dialing || r->finished) {
    return;
  }
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(r->fds[UPSTREAM], SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
    error = errno;
  }
  if (error == 0 && status < 0) {
    /* EPOLLERR (libuv's UV_EBADF) with no pending error: ask whether it connected. */
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    if (getpeername(r->fds[UPSTREAM], (struct sockaddr *)&peer, &peer_len) != 0) {
      error = errno;
    }
  }
  if (error != 0) {
    dial_fail(r, "connect", error);
    return;
  }
  /* The pipes are made only now, so a failed dial costs no pipe. */
  error = relay_open_pipes(r);
  if (error != 0) {
    dial_fail(r, "pipe2", error);
    return;
  }
  uv_timer_stop(&r->timer);
  uv_poll_stop(&r->polls[UPSTREAM]);
  r->watching[UPSTREAM] = 0;
  r->dialing = false;
  relay_commit(r); /* the relay owns the client fd from here on */

  relay_call(r, r->dial_callback, make_null);
  napi_delete_reference(r->env, r->dial_callback);
  r->dial_callback = NULL;
  if (r->finished) {
    return; /* onDial stopped it */
  }
  int side = CLIENT;
  int rc = relay_run(r, &side);
  if (rc != 0) {
    relay_fail(r, side, -rc);
  }
}

/* ---- JS surface ------------------------------------------------------------- */

static bool read_ip_arg(napi_env env, size_t argc, napi_value *argv, size_t index,
                        char *ip, size_t ip_size, struct sockaddr_storage *addr, socklen_t *addr_len) {
  napi_valuetype type = napi_undefined;
  if (index < argc && napi_typeof(env, argv[index], &type) != napi_ok) {
    throw_napi_failure(env, "napi_typeof");
    return false;
  }
  if (type != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"ip\" argument must be of type string");
    return false;
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[index], ip, ip_size, &length) != napi_ok) {
    throw_napi_failure(env, "napi_get_value_string_utf8");
    return false;
  }
  memset(addr, 0, sizeof *addr);
  struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
  /* length + 1 == ip_size means it was cut short, so it cannot be an address. */
  if (length + 1 < ip_size && inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    *addr_len = sizeof *v4;
    return true;
  }
  if (length + 1 < ip_size && inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    *addr_len = sizeof *v6;
    return true;
  }
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                        "The \"ip\" argument must be an IPv4 or IPv6 address (no host name, no zone)");
  return false;
}

/* Starts the non-blocking connect. Returns 0 (in progress or done; the poll
 * tells) or the errno of a failure to report through onDial. */
static int start_connect(relay_t *r, struct sockaddr_storage *addr, socklen_t addr_len) {
  int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r->dial_syscall = "socket";
    return errno;
  }
  r->fds[UPSTREAM] = fd;
  r->owns[UPSTREAM] = true;
  int rc;
  do {
    rc = connect(fd, (struct sockaddr *)addr, addr_len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    r->dial_syscall = "connect";
    return errno;
  }
  /* libuv errors are negated errnos on Unix. */
  rc = uv_poll_init(r->loop, &r->polls[UPSTREAM], fd);
  if (rc != 0) {
    r->dial_syscall = "uv_poll_init";
    return -rc;
  }
  r->polls[UPSTREAM].data = r;
  r->polls_ready++;
  r->open_handles++;
  rc = uv_poll_start(&r->polls[UPSTREAM], UV_WRITABLE, on_connected);
  if (rc != 0) {
    r->dial_syscall = "uv_poll_start";
    return -rc;
  }
  r->watching[UPSTREAM] = UV_WRITABLE;
  return 0;
}

static napi_value abandon(napi_env env, relay_t *r, napi_value thrown) {
  relay_finish(r, REASON_STOPPED, 0); /* not dialling yet: calls nothing, keeps the client fd */
  return thrown;
}

/*
 * relayTo(clientFd, ip, port, connectTimeoutMs, idleMs, onDial, done).
 * Throws (taking nothing) for bad arguments or a client fd relay() would
 * refuse (EBADF, EPERM, EEXIST). Otherwise onDial runs exactly once, later
 * (unless the thread is torn down first): onDial(err) after a failed dial,
 * with the upstream socket closed and the client fd still the caller's, or
 * onDial(null) once connected, after which done(result) fires once as for relay().
 */
napi_value native_relay_to(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  int64_t client_fd = 0, port = 0, timeout_ms = 0, idle_ms = 0;
  char ip[64];
  struct sockaddr_storage addr;
  socklen_t addr_len = 0;
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!read_int_arg(env, argc, argv, 0, "clientFd", 0, INT_MAX, &client_fd) ||
      !read_ip_arg(env, argc, argv, 1, ip, sizeof ip, &addr, &addr_len) ||
      !read_int_arg(env, argc, argv, 2, "port", 1, 65535, &port) ||
      !read_int_arg(env, argc, argv, 3, "connectTimeoutMs", 0, INT32_MAX, &timeout_ms) ||
      !read_int_arg(env, argc, argv, 4, "idleMs", 0, INT32_MAX, &idle_ms) ||
      !read_function_arg(env, argc, argv, 5, "onDial") ||
      !read_function_arg(env, argc, argv, 6, "done")) {
    return NULL;
  }
  if (addr.ss_family == AF_INET) {
    ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
  } else {
    ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
  }
  uv_loop_t *loop = NULL;
  NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));

  relay_t *r = relay_alloc(env, loop, (int)client_fd, -1, (uint64_t)idle_ms);
  if (r == NULL) {
    return throw_errno(env, ENOMEM, "relayTo");
  }
  snprintf(r->dial_ip, sizeof r->dial_ip, "%s", ip);
  r->dial_port = (int)port;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  r->open_handles = 1;
  r->holders = 1;
  /* The client poll is only initialised (not started) while dialling: this checks
   * the fd now (EBADF, EPERM for a non-socket, EEXIST when this thread polls it)
   * and sets O_NONBLOCK, but registers nothing with epoll yet. */
  int rc = uv_poll_init(loop, &r->polls[CLIENT], r->fds[CLIENT]);
  if (rc != 0) {
    return abandon(env, r, throw_uv_error(env, rc, "uv_poll_init"));
  }
  r->polls[CLIENT].data = r;
  r->polls_ready = 1;
  r->open_handles++;

  napi_value object;
  if (relay_expose(env, r, argv[6], argv[5], RELAY_TO_RESOURCE_NAME, &object) != napi_ok) {
    return abandon(env, r, throw_napi_failure(env, "relay_expose"));
  }
  r->dialing = true;
  int error = start_connect(r, &addr, addr_len);
  if (error != 0) {
    /* Reported like any failed dial: onDial(err) from the close callbacks, later. */
    relay_finish(r, REASON_DIAL_FAILED, error);
  } else if (timeout_ms > 0) {
    uv_timer_start(&r->timer, on_connect_timeout, (uint64_t)timeout_ms, 0);
  }
  return object;
}
