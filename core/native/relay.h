/*
 * The relay's state, shared by splice.c (relay(): the splice byte mover) and
 * dial.c (relayTo(): a non-blocking connect that becomes the same relay).
 * Hidden from outside the .node like everything in addon.h.
 */
#ifndef EDGEPLANE_RELAY_H
#define EDGEPLANE_RELAY_H

#include "addon.h"

#include <netinet/in.h>
#include <stddef.h>

enum { CLIENT = 0, UPSTREAM = 1 };

typedef enum {
  REASON_CLOSED,
  REASON_IDLE,
  REASON_CLIENT_ERROR,
  REASON_UPSTREAM_ERROR,
  REASON_STOPPED,
  REASON_DIAL_FAILED /* relayTo only: onDial(err) instead of the done callback */
} reason_t;

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
 * the JS Relay object wrapping it (until it is garbage collected), so stop()
 * and bytes() stay safe to call after the relay is done. Whichever lets go
 * last frees it.
 */
typedef struct relay {
  uv_poll_t polls[2];
  uv_timer_t timer;
  uv_loop_t *loop;
  napi_env env;
  napi_ref callback;      /* done(result) */
  napi_ref dial_callback; /* relayTo's onDial(err), until it has run */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int fds[2];
  bool owns[2]; /* closed by finish: the upstream from relayTo's socket(), the client once committed */
  flow_t flows[2];
  int watching[2]; /* events each poll is started with */
  int polls_ready; /* polls initialised so far, in side order */
  int open_handles;
  int holders;
  uint64_t idle_ms;
  uint64_t last_active;
  reason_t reason;
  int error; /* errno behind a *_error or dial_failed reason */
  bool started;  /* the relay owns both fds and will call done */
  bool dialing;  /* relayTo is connecting: the caller still owns the client fd */
  bool finished;
  bool env_gone; /* the thread is shutting down: never call JS */
  /* relayTo's target, for Node-like dial errors ("connect ECONNREFUSED 127.0.0.1:80"). */
  const char *dial_syscall;
  char dial_ip[64];
  int dial_port;
} relay_t;

/* calloc'd with pipes and fds at -1, not yet holding anything; NULL when out of memory. */
relay_t *relay_alloc(napi_env env, uv_loop_t *loop, int client_fd, int upstream_fd, uint64_t idle_ms);
/* Opens both directions' pipes; returns 0 or an errno (any pipe opened is closed again). */
int relay_open_pipes(relay_t *r);
/* Ends once: uv_closes the handles, closes the pipes and every fd in owns[]. */
void relay_finish(relay_t *r, reason_t reason, int error);
/* Takes refs to done (and onDial when not NULL), registers the cleanup hook and builds the
 * { stop, bytes } object with its async context. On failure the caller abandons r. */
napi_status relay_expose(napi_env env, relay_t *r, napi_value done, napi_value on_dial,
                         const char *resource_name, napi_value *object);
/* Commits: from here on the relay owns both sockets (TCP_NODELAY on both). Then
 * relay_run starts moving bytes: returns 0, or a libuv error with *side set. */
void relay_commit(relay_t *r);
int relay_run(relay_t *r, int *side);
/* Ends with client_error / upstream_error. */
void relay_fail(relay_t *r, int side, int error);
/* Calls callback(arg) through napi_make_callback inside a handle scope; a throw goes to
 * process 'uncaughtException'. make_arg builds the argument (NULL: skip the call). */
typedef napi_value (*relay_arg_fn)(napi_env env, relay_t *r);
void relay_call(relay_t *r, napi_ref callback, relay_arg_fn make_arg);

/* dial.c: the onDial(err) call for a relayTo that never connected. */
void dial_report_failure(relay_t *r);

#endif
