// The embedded TURN server's UDP relay hot path, off Node's event loop: one thread per
// server reads the shared client socket and the allocations' relay sockets in batches
// (recvmmsg) and relays ChannelData both ways itself. Everything else (STUN requests,
// Send indications, peer datagrams without a channel, send failures) goes up to
// JavaScript, which stays the only place that decides: this code only mirrors the
// allocations, permissions, channels and byte budgets JavaScript gives it.
//
// Sockets stay Node's (dgram): this code reads and writes their descriptors, never
// closes them. JavaScript removes an allocation here before it closes its socket; an
// allocation removed while its events are being handled is freed only after them.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAX_DATAGRAM 65536
#define BUCKETS 4096
#define TAG_WAKE UINT64_MAX
#define TAG_CLIENT (UINT64_MAX - 1)
#define QUEUE_LIMIT 8192

enum { PUNT_CLIENT = 0, PUNT_PEER = 1, PUNT_SEND_ERROR = 2 };

typedef struct {
  uint32_t address; // network order
  int64_t expires_at;
} permission_t;

typedef struct {
  uint16_t number;
  struct sockaddr_in peer;
  int64_t expires_at;
} channel_t;

typedef struct allocation {
  uint32_t id;
  int relay_fd;
  int dead;
  struct sockaddr_in client;
  double bytes_per_second, tokens;
  int64_t last_refill;
  permission_t *permissions;
  size_t permission_count, permission_capacity;
  channel_t *channels;
  size_t channel_count, channel_capacity;
  struct allocation *next_by_client, *next_by_id, *next_dead;
} allocation_t;

typedef struct {
  int kind;
  uint32_t id;
  int error;
  struct sockaddr_in from;
  size_t length;
  uint8_t data[];
} punt_t;

typedef struct {
  pthread_mutex_t lock;
  pthread_t thread;
  int running, epoll_fd, wake_fd, client_fd;
  uint32_t next_id;
  allocation_t *by_client[BUCKETS], *by_id[BUCKETS], *dead;
  napi_threadsafe_function punt;
  // The thread's own buffers.
  struct mmsghdr messages[BATCH];
  struct iovec vectors[BATCH];
  struct sockaddr_in sources[BATCH];
  uint8_t (*buffers)[MAX_DATAGRAM];
  uint8_t frame[MAX_DATAGRAM + 4];
} relay_t;

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t); // JavaScript's Date.now(), which sets the expiries
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static size_t client_bucket(const struct sockaddr_in *a) {
  return (a->sin_addr.s_addr * 2654435761u ^ a->sin_port * 40503u) % BUCKETS;
}

static allocation_t *find_by_client(relay_t *r, const struct sockaddr_in *from) {
  for (allocation_t *a = r->by_client[client_bucket(from)]; a; a = a->next_by_client)
    if (a->client.sin_addr.s_addr == from->sin_addr.s_addr && a->client.sin_port == from->sin_port)
      return a;
  return NULL;
}

static allocation_t *find_by_id(relay_t *r, uint32_t id) {
  for (allocation_t *a = r->by_id[id % BUCKETS]; a; a = a->next_by_id)
    if (a->id == id) return a;
  return NULL;
}

static void unlink_allocation(relay_t *r, allocation_t *gone) {
  for (allocation_t **p = &r->by_client[client_bucket(&gone->client)]; *p; p = &(*p)->next_by_client)
    if (*p == gone) {
      *p = gone->next_by_client;
      break;
    }
  for (allocation_t **p = &r->by_id[gone->id % BUCKETS]; *p; p = &(*p)->next_by_id)
    if (*p == gone) {
      *p = gone->next_by_id;
      break;
    }
}

static void free_allocation(allocation_t *a) {
  free(a->permissions);
  free(a->channels);
  free(a);
}

// The same token bucket as Allocation's ByteBudget: one second of burst.
static int take_budget(allocation_t *a, size_t bytes, int64_t now) {
  if (a->bytes_per_second <= 0) return 1;
  if (now != a->last_refill) {
    double refilled = a->tokens + (double)(now - a->last_refill) * a->bytes_per_second / 1000;
    a->tokens = refilled < a->bytes_per_second ? refilled : a->bytes_per_second;
    a->last_refill = now;
  }
  if (a->tokens < (double)bytes) return 0;
  a->tokens -= (double)bytes;
  return 1;
}

static int permitted(const allocation_t *a, uint32_t address, int64_t now) {
  for (size_t i = 0; i < a->permission_count; i++)
    if (a->permissions[i].address == address) return a->permissions[i].expires_at > now;
  return 0;
}

static channel_t *channel_by_number(allocation_t *a, uint16_t number) {
  for (size_t i = 0; i < a->channel_count; i++)
    if (a->channels[i].number == number) return &a->channels[i];
  return NULL;
}

static channel_t *channel_by_peer(allocation_t *a, const struct sockaddr_in *peer) {
  for (size_t i = 0; i < a->channel_count; i++)
    if (a->channels[i].peer.sin_addr.s_addr == peer->sin_addr.s_addr &&
        a->channels[i].peer.sin_port == peer->sin_port)
      return &a->channels[i];
  return NULL;
}

static void punt(relay_t *r, int kind, uint32_t id, int error, const struct sockaddr_in *from,
                 const uint8_t *data, size_t length) {
  punt_t *p = malloc(sizeof(punt_t) + length);
  if (!p) return;
  p->kind = kind;
  p->id = id;
  p->error = error;
  if (from) p->from = *from;
  else memset(&p->from, 0, sizeof p->from);
  p->length = length;
  if (length) memcpy(p->data, data, length);
  // A full queue drops the datagram, as a full socket buffer would.
  if (napi_call_threadsafe_function(r->punt, p, napi_tsfn_nonblocking) != napi_ok) free(p);
}

static int transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS || error == EINTR;
}

/** To a peer through the allocation's relay socket; a lasting failure ends the allocation. */
static void send_to_peer(relay_t *r, allocation_t *a, const void *data, size_t length,
                         const struct sockaddr_in *to) {
  if (sendto(a->relay_fd, data, length, 0, (const struct sockaddr *)to, sizeof *to) >= 0) return;
  int error = errno;
  if (transient(error)) return; // lost, as UDP may lose it
  // Nothing more through it; JavaScript closes it and then removes it here.
  a->dead = 1;
  epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, a->relay_fd, NULL);
  punt(r, PUNT_SEND_ERROR, a->id, error, NULL, NULL, 0);
}

/** A datagram on the shared client socket: ChannelData is relayed here, the rest goes up. */
static void from_client(relay_t *r, const uint8_t *data, size_t length,
                        const struct sockaddr_in *from, int64_t now) {
  if (length < 4 || (data[0] & 0xc0) != 0x40) {
    punt(r, PUNT_CLIENT, 0, 0, from, data, length);
    return;
  }
  allocation_t *a = find_by_client(r, from);
  if (!a || a->dead) return;
  size_t carried = (size_t)data[2] << 8 | data[3];
  if (carried > length - 4) return;
  channel_t *channel = channel_by_number(a, (uint16_t)(data[0] << 8 | data[1]));
  if (!channel || channel->expires_at <= now) return;
  if (!permitted(a, channel->peer.sin_addr.s_addr, now) || !take_budget(a, carried, now)) return;
  send_to_peer(r, a, data + 4, carried, &channel->peer);
}

/** A peer's datagram on a relay socket: to the client as ChannelData, else up. */
static void from_peer(relay_t *r, allocation_t *a, const uint8_t *data, size_t length,
                      const struct sockaddr_in *from, int64_t now) {
  if (!permitted(a, from->sin_addr.s_addr, now)) return;
  channel_t *channel = channel_by_peer(a, from);
  if (!channel || channel->expires_at <= now || length > MAX_DATAGRAM - 4) {
    punt(r, PUNT_PEER, a->id, 0, from, data, length); // a Data indication, built above
    return;
  }
  if (!take_budget(a, length, now)) return;
  r->frame[0] = channel->number >> 8;
  r->frame[1] = channel->number & 0xff;
  r->frame[2] = length >> 8;
  r->frame[3] = length & 0xff;
  memcpy(r->frame + 4, data, length);
  // A failure on the shared client socket is this datagram's loss alone (as with dgram).
  (void)!sendto(r->client_fd, r->frame, length + 4, 0, (const struct sockaddr *)&a->client,
                sizeof a->client);
}

/**
 * One batch from the socket `tag` names; true when it filled the batch. The lock is held
 * throughout: JavaScript closes a relay socket only after removing it here, under the
 * lock, so its descriptor is never read once closed (and perhaps reused).
 */
static int drain(relay_t *r, uint64_t tag) {
  pthread_mutex_lock(&r->lock);
  allocation_t *a = tag == TAG_CLIENT ? NULL : (allocation_t *)(uintptr_t)tag;
  int count = 0;
  if (!a || !a->dead) {
    for (int i = 0; i < BATCH; i++) {
      r->vectors[i] = (struct iovec){r->buffers[i], MAX_DATAGRAM};
      r->messages[i].msg_hdr = (struct msghdr){.msg_name = &r->sources[i],
                                               .msg_namelen = sizeof r->sources[i],
                                               .msg_iov = &r->vectors[i],
                                               .msg_iovlen = 1};
    }
    count = recvmmsg(a ? a->relay_fd : r->client_fd, r->messages, BATCH, MSG_DONTWAIT, NULL);
  }
  int64_t now = now_ms();
  for (int i = 0; i < count; i++) {
    const struct msghdr *h = &r->messages[i].msg_hdr;
    if (h->msg_namelen != sizeof(struct sockaddr_in) || r->sources[i].sin_family != AF_INET ||
        (h->msg_flags & MSG_TRUNC))
      continue;
    size_t length = r->messages[i].msg_len;
    if (!a) from_client(r, r->buffers[i], length, &r->sources[i], now);
    else if (!a->dead) from_peer(r, a, r->buffers[i], length, &r->sources[i], now);
  }
  pthread_mutex_unlock(&r->lock);
  return count == BATCH;
}

static void *run(void *arg) {
  relay_t *r = arg;
  struct epoll_event events[64];
  for (;;) {
    pthread_mutex_lock(&r->lock);
    // Freed here: no event of this round can still name them.
    while (r->dead) {
      allocation_t *gone = r->dead;
      r->dead = gone->next_dead;
      free_allocation(gone);
    }
    int running = r->running;
    pthread_mutex_unlock(&r->lock);
    if (!running) return NULL;
    int count = epoll_wait(r->epoll_fd, events, 64, -1);
    for (int i = 0; i < count; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == TAG_WAKE) {
        uint64_t value;
        if (read(r->wake_fd, &value, sizeof value) < 0) continue;
      } else {
        // A few batches per socket per round, so that a flood on one cannot starve others.
        for (int round = 0; round < 4 && drain(r, tag); round++) continue;
      }
    }
  }
}

// --- JavaScript ---

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  punt_t *p = data;
  if (env && callback) {
    napi_value args[5], undefined;
    char address[INET_ADDRSTRLEN] = "";
    napi_get_undefined(env, &undefined);
    napi_create_int32(env, p->kind, &args[0]);
    napi_create_uint32(env, p->id, &args[1]);
    if (p->kind == PUNT_SEND_ERROR) {
      napi_create_int32(env, p->error, &args[2]);
      args[3] = args[4] = undefined;
    } else {
      void *copy;
      napi_create_buffer_copy(env, p->length, p->data, &copy, &args[2]);
      inet_ntop(AF_INET, &p->from.sin_addr, address, sizeof address);
      napi_create_string_latin1(env, address, NAPI_AUTO_LENGTH, &args[3]);
      napi_create_uint32(env, ntohs(p->from.sin_port), &args[4]);
    }
    napi_call_function(env, undefined, callback, 5, args, NULL);
  }
  free(p);
}

static void stop_relay(relay_t *r) {
  pthread_mutex_lock(&r->lock);
  int running = r->running;
  r->running = 0;
  pthread_mutex_unlock(&r->lock);
  if (!running) return;
  uint64_t one = 1;
  if (write(r->wake_fd, &one, sizeof one) < 0) { /* the thread wakes on its next event */ }
  pthread_join(r->thread, NULL);
  for (size_t b = 0; b < BUCKETS; b++)
    while (r->by_id[b]) {
      allocation_t *a = r->by_id[b];
      r->by_id[b] = a->next_by_id;
      free_allocation(a);
    }
  while (r->dead) {
    allocation_t *gone = r->dead;
    r->dead = gone->next_dead;
    free_allocation(gone);
  }
  memset(r->by_client, 0, sizeof r->by_client);
  close(r->epoll_fd);
  close(r->wake_fd);
  napi_release_threadsafe_function(r->punt, napi_tsfn_release);
}

static void finalize_relay(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  relay_t *r = data;
  stop_relay(r);
  pthread_mutex_destroy(&r->lock);
  free(r->buffers);
  free(r);
}

#define CHECK(call)                                                                              \
  do {                                                                                           \
    if ((call) != napi_ok) {                                                                     \
      napi_throw_error(env, NULL, "udp-relay: " #call " failed");                                \
      return NULL;                                                                               \
    }                                                                                            \
  } while (0)

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static relay_t *relay_arg(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

static int address_arg(napi_env env, napi_value address, napi_value port, struct sockaddr_in *out) {
  char text[INET_ADDRSTRLEN + 1];
  size_t length;
  uint32_t number = 0;
  if (napi_get_value_string_latin1(env, address, text, sizeof text, &length) != napi_ok) return 0;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  if (inet_pton(AF_INET, text, &out->sin_addr) != 1) return 0;
  if (port && (napi_get_value_uint32(env, port, &number) != napi_ok || number > 65535)) return 0;
  out->sin_port = htons((uint16_t)number);
  return 1;
}

/** start(clientFd, onPunt) → relay */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, name;
  int32_t client_fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &client_fd) != napi_ok || client_fd < 0)
    return fail(env, "udp-relay: start(clientFd, onPunt)");
  relay_t *r = calloc(1, sizeof *r);
  if (!r || !(r->buffers = malloc(sizeof(*r->buffers) * BATCH))) {
    free(r);
    return fail(env, "udp-relay: out of memory");
  }
  pthread_mutex_init(&r->lock, NULL);
  r->client_fd = client_fd;
  r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event wake = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
  struct epoll_event client = {.events = EPOLLIN, .data.u64 = TAG_CLIENT};
  napi_create_string_utf8(env, "udp-relay", NAPI_AUTO_LENGTH, &name);
  if (r->epoll_fd < 0 || r->wake_fd < 0 ||
      epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->wake_fd, &wake) < 0 ||
      epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, client_fd, &client) < 0 ||
      napi_create_threadsafe_function(env, argv[1], NULL, name, QUEUE_LIMIT, 1, NULL, NULL, NULL,
                                      call_js, &r->punt) != napi_ok) {
    if (r->epoll_fd >= 0) close(r->epoll_fd);
    if (r->wake_fd >= 0) close(r->wake_fd);
    free(r->buffers);
    free(r);
    return fail(env, "udp-relay: cannot watch the client socket");
  }
  napi_unref_threadsafe_function(env, r->punt); // the sockets keep the process alive, not this
  r->running = 1;
  if (pthread_create(&r->thread, NULL, run, r) != 0) {
    r->running = 0;
    napi_release_threadsafe_function(r->punt, napi_tsfn_abort);
    close(r->epoll_fd);
    close(r->wake_fd);
    free(r->buffers);
    free(r);
    return fail(env, "udp-relay: cannot start its thread");
  }
  CHECK(napi_create_external(env, r, finalize_relay, NULL, &result));
  return result;
}

static napi_value stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc ? relay_arg(env, argv[0]) : NULL;
  if (!r) return fail(env, "udp-relay: stop(relay)");
  stop_relay(r);
  return NULL;
}

/** add(relay, relayFd, clientAddress, clientPort, bytesPerSecond) → id */
static napi_value add(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  int32_t relay_fd;
  double rate;
  struct sockaddr_in client;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc == 5 ? relay_arg(env, argv[0]) : NULL;
  if (!r || napi_get_value_int32(env, argv[1], &relay_fd) != napi_ok || relay_fd < 0 ||
      !address_arg(env, argv[2], argv[3], &client) ||
      napi_get_value_double(env, argv[4], &rate) != napi_ok)
    return fail(env, "udp-relay: add(relay, relayFd, clientAddress, clientPort, bytesPerSecond)");
  allocation_t *a = calloc(1, sizeof *a);
  if (!a) return fail(env, "udp-relay: out of memory");
  a->relay_fd = relay_fd;
  a->client = client;
  a->bytes_per_second = a->tokens = rate;
  a->last_refill = now_ms();
  struct epoll_event event = {.events = EPOLLIN, .data.u64 = (uint64_t)(uintptr_t)a};
  pthread_mutex_lock(&r->lock);
  a->id = ++r->next_id;
  int added = r->running && epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, relay_fd, &event) == 0;
  if (added) {
    size_t b = client_bucket(&client);
    a->next_by_client = r->by_client[b];
    r->by_client[b] = a;
    a->next_by_id = r->by_id[a->id % BUCKETS];
    r->by_id[a->id % BUCKETS] = a;
  }
  pthread_mutex_unlock(&r->lock);
  if (!added) {
    free(a);
    return fail(env, "udp-relay: cannot watch the relay socket");
  }
  CHECK(napi_create_uint32(env, a->id, &result));
  return result;
}

/** remove(relay, id): before JavaScript closes the relay socket. */
static napi_value remove_allocation(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc == 2 ? relay_arg(env, argv[0]) : NULL;
  if (!r || napi_get_value_uint32(env, argv[1], &id) != napi_ok)
    return fail(env, "udp-relay: remove(relay, id)");
  pthread_mutex_lock(&r->lock);
  allocation_t *a = find_by_id(r, id);
  if (a) {
    unlink_allocation(r, a);
    if (r->running) epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, a->relay_fd, NULL);
    a->dead = 1;
    a->next_dead = r->dead;
    r->dead = a;
  }
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

static int grow(void **items, size_t *capacity, size_t count, size_t size) {
  if (count < *capacity) return 1;
  size_t next = *capacity ? *capacity * 2 : 4;
  void *bigger = realloc(*items, next * size);
  if (!bigger) return 0;
  *items = bigger;
  *capacity = next;
  return 1;
}

/** permit(relay, id, peerAddress, expiresAt) */
static napi_value permit(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t id;
  double expires_at;
  struct sockaddr_in peer;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc == 4 ? relay_arg(env, argv[0]) : NULL;
  if (!r || napi_get_value_uint32(env, argv[1], &id) != napi_ok ||
      !address_arg(env, argv[2], NULL, &peer) ||
      napi_get_value_double(env, argv[3], &expires_at) != napi_ok)
    return fail(env, "udp-relay: permit(relay, id, peerAddress, expiresAt)");
  int ok = 1;
  int64_t now = now_ms();
  pthread_mutex_lock(&r->lock);
  allocation_t *a = find_by_id(r, id);
  if (a) {
    permission_t *slot = NULL;
    for (size_t i = 0; i < a->permission_count && !slot; i++)
      if (a->permissions[i].address == peer.sin_addr.s_addr) slot = &a->permissions[i];
    // An expired permission's slot is reused, so the table holds what lives, not history.
    for (size_t i = 0; i < a->permission_count && !slot; i++)
      if (a->permissions[i].expires_at <= now) slot = &a->permissions[i];
    if (!slot && (ok = grow((void **)&a->permissions, &a->permission_capacity,
                            a->permission_count, sizeof *a->permissions)))
      slot = &a->permissions[a->permission_count++];
    if (slot) *slot = (permission_t){peer.sin_addr.s_addr, (int64_t)expires_at};
  }
  pthread_mutex_unlock(&r->lock);
  return ok ? NULL : fail(env, "udp-relay: out of memory");
}

/** bindChannel(relay, id, number, peerAddress, peerPort, expiresAt) */
static napi_value bind_channel(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  uint32_t id, number;
  double expires_at;
  struct sockaddr_in peer;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc == 6 ? relay_arg(env, argv[0]) : NULL;
  if (!r || napi_get_value_uint32(env, argv[1], &id) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &number) != napi_ok || number < 0x4000 ||
      number > 0x7fff || !address_arg(env, argv[3], argv[4], &peer) ||
      napi_get_value_double(env, argv[5], &expires_at) != napi_ok)
    return fail(env, "udp-relay: bindChannel(relay, id, number, peerAddress, peerPort, expiresAt)");
  int ok = 1;
  pthread_mutex_lock(&r->lock);
  allocation_t *a = find_by_id(r, id);
  if (a) {
    // JavaScript decided the binding; what held its number or its peer before is gone.
    for (size_t i = 0; i < a->channel_count;) {
      channel_t *c = &a->channels[i];
      int same_peer = c->peer.sin_addr.s_addr == peer.sin_addr.s_addr && c->peer.sin_port == peer.sin_port;
      if (c->number == number || same_peer) a->channels[i] = a->channels[--a->channel_count];
      else i++;
    }
    if ((ok = grow((void **)&a->channels, &a->channel_capacity, a->channel_count,
                   sizeof *a->channels)))
      a->channels[a->channel_count++] = (channel_t){(uint16_t)number, peer, (int64_t)expires_at};
  }
  pthread_mutex_unlock(&r->lock);
  return ok ? NULL : fail(env, "udp-relay: out of memory");
}

/** take(relay, id, bytes) → whether the allocation's byte budget allows them */
static napi_value take(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  uint32_t id;
  double bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = argc == 3 ? relay_arg(env, argv[0]) : NULL;
  if (!r || napi_get_value_uint32(env, argv[1], &id) != napi_ok ||
      napi_get_value_double(env, argv[2], &bytes) != napi_ok || bytes < 0)
    return fail(env, "udp-relay: take(relay, id, bytes)");
  int allowed = 0;
  int64_t now = now_ms();
  pthread_mutex_lock(&r->lock);
  allocation_t *a = find_by_id(r, id);
  allowed = a && !a->dead && take_budget(a, (size_t)bytes, now);
  pthread_mutex_unlock(&r->lock);
  CHECK(napi_get_boolean(env, allowed, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
      {"add", NULL, add, NULL, NULL, NULL, napi_default, NULL},
      {"remove", NULL, remove_allocation, NULL, NULL, NULL, napi_default, NULL},
      {"permit", NULL, permit, NULL, NULL, NULL, napi_default, NULL},
      {"bindChannel", NULL, bind_channel, NULL, NULL, NULL, napi_default, NULL},
      {"take", NULL, take, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof methods / sizeof *methods, methods));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
