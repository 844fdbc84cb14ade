/* Two participants in one process, in plain C with no protobuf library: the messages are
 * written and read by hand with the few field numbers this story needs (livekit-ffi/proto).
 * It is the program the cross builds run (docs/platforms.md): it needs only libc and
 * liblivekit_ffi, so it links the same way for glibc, musl (static) and under qemu-user.
 *
 *   story            (reads LK_URL, LK_TOKEN_A, LK_TOKEN_B, LK_IDENTITY_A, LK_IDENTITY_B,
 *                     as bindings/c/tests/with_server.py sets them)
 *
 * Both join; A sets an attribute; when B sees it, B sends A a data packet; when A gets it, A
 * sends B a 64 KiB byte stream; B reads it all and checks it; both leave. Exit 0 on success. */
#include <livekit_ffi.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- Writing protobuf -------------------------------------------------------------------- */
typedef struct {
  uint8_t *p;
  size_t len, cap;
} buf;

static void put_raw(buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}
static void put_varint(buf *b, uint64_t v) {
  do {
    uint8_t byte = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) byte |= 0x80;
    put_raw(b, &byte, 1);
  } while (v);
}
static void put_u64(buf *b, int field, uint64_t v) {
  put_varint(b, (uint64_t)field << 3);
  put_varint(b, v);
}
static void put_bytes(buf *b, int field, const void *data, size_t n) {
  put_varint(b, ((uint64_t)field << 3) | 2);
  put_varint(b, n);
  put_raw(b, data, n);
}
static void put_str(buf *b, int field, const char *s) { put_bytes(b, field, s, strlen(s)); }
/* Appends `inner` as a nested message and frees it. */
static void put_msg(buf *b, int field, buf *inner) {
  put_bytes(b, field, inner->p ? inner->p : (const uint8_t *)"", inner->len);
  free(inner->p);
  memset(inner, 0, sizeof *inner);
}

/* --- Reading protobuf --------------------------------------------------------------------- */
typedef struct {
  const uint8_t *p;
  size_t len;
} span;

static int get_varint(span *s, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && s->len; shift += 7) {
    uint8_t byte = *s->p++;
    s->len--;
    *v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return 1;
  }
  return 0;
}
/* Finds the first `field` in `msg`: its value (varint) or its bytes (length-delimited).
 * Returns 1 when found. */
static int get_field(span msg, int field, span *bytes, uint64_t *value) {
  uint64_t key, v;
  while (msg.len && get_varint(&msg, &key)) {
    int wire = (int)(key & 7);
    if (wire == 0) {
      if (!get_varint(&msg, &v)) return 0;
      if ((int)(key >> 3) == field) {
        if (value) *value = v;
        return 1;
      }
    } else if (wire == 2) {
      if (!get_varint(&msg, &v) || v > msg.len) return 0;
      if ((int)(key >> 3) == field) {
        if (bytes) *bytes = (span){msg.p, (size_t)v};
        return 1;
      }
      msg.p += v;
      msg.len -= v;
    } else {
      size_t n = wire == 1 ? 8 : wire == 5 ? 4 : 0;
      if (!n || n > msg.len) return 0;
      msg.p += n;
      msg.len -= n;
    }
  }
  return 0;
}
static int get_msg(span msg, int field, span *out) { return get_field(msg, field, out, NULL); }
static uint64_t get_u64(span msg, int field) {
  uint64_t v = 0;
  get_field(msg, field, NULL, &v);
  return v;
}
/* A nested path of message fields ending in a varint: get_path(m, 3, (int[]){3, 1, 1, 1}). */
static uint64_t get_path(span msg, int depth, const int *fields) {
  for (int i = 0; i < depth; i++)
    if (!get_msg(msg, fields[i], &msg)) return 0;
  return get_u64(msg, fields[depth]);
}
static int span_is(span s, const char *text) { return s.len == strlen(text) && memcmp(s.p, text, s.len) == 0; }

/* --- Events: the library's threads push, main pops ---------------------------------------- */
typedef struct event {
  struct event *next;
  size_t len;
  uint8_t data[];
} event;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static event *head, *tail;

static void on_event(const uint8_t *data, size_t len) {
  event *e = malloc(sizeof *e + len);
  if (!e) abort();
  e->next = NULL;
  e->len = len;
  memcpy(e->data, data, len);
  pthread_mutex_lock(&lock);
  if (tail) tail->next = e; else head = e;
  tail = e;
  pthread_cond_signal(&ready);
  pthread_mutex_unlock(&lock);
}
static event *next_event(int seconds) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += seconds;
  pthread_mutex_lock(&lock);
  while (!head && pthread_cond_timedwait(&ready, &lock, &until) == 0) {}
  event *e = head;
  if (e) {
    head = e->next;
    if (!head) tail = NULL;
  }
  pthread_mutex_unlock(&lock);
  return e;
}

/* --- Requests ------------------------------------------------------------------------------- */
static uint64_t next_async_id = 1;

/* Sends FfiRequest{field: body} and checks the library answered. */
static int request(int field, buf *body) {
  buf req = {0};
  put_msg(&req, field, body);
  const uint8_t *res = NULL;
  size_t res_len = 0;
  uint64_t handle = livekit_ffi_request(req.p, req.len, &res, &res_len);
  free(req.p);
  if (handle == INVALID_HANDLE) {
    char message[512];
    livekit_ffi_last_error(message, sizeof message);
    fprintf(stderr, "story: request %d refused: %s\n", field, message);
    return 0;
  }
  livekit_ffi_drop_handle(handle);
  return 1;
}

typedef struct {
  const char *label, *identity, *token;
  uint64_t connect_id, room, participant;
  int left;
} player;

static int fail(const char *why) {
  fprintf(stderr, "story: FAILED: %s\n", why);
  return 1;
}

#define STREAM_LEN (64 * 1024)

int main(void) {
  const char *url = getenv("LK_URL");
  player a = {"A", getenv("LK_IDENTITY_A"), getenv("LK_TOKEN_A"), 0, 0, 0, 0};
  player b = {"B", getenv("LK_IDENTITY_B"), getenv("LK_TOKEN_B"), 0, 0, 0, 0};
  if (!url || !a.identity || !a.token || !b.identity || !b.token)
    return fail("LK_URL, LK_TOKEN_A/B and LK_IDENTITY_A/B must be set (bindings/c/tests/with_server.py)");
  static uint8_t map[STREAM_LEN];
  for (size_t i = 0; i < sizeof map; i++) map[i] = (uint8_t)('a' + i % 26);

  livekit_ffi_initialize(on_event, false, "c", "0.1.0");
  player *players[2] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    buf options = {0}, connect = {0};
    put_u64(&options, 1, 1); /* auto_subscribe */
    put_str(&connect, 1, url);
    put_str(&connect, 2, players[i]->token);
    put_msg(&connect, 3, &options);
    players[i]->connect_id = next_async_id++;
    put_u64(&connect, 4, players[i]->connect_id);
    if (!request(3, &connect)) return fail("connect");
  }

  /* A sets its attribute only once B knows A: the server announces a new participant up to 3 s
   * late, and an attribute set before that arrives inside the announcement, not as a change. */
  int joined = 0, done = 0, b_sees_a = 0, attributes_sent = 0;
  uint64_t read_id = 0, disconnects = 0;
  time_t deadline = time(NULL) + 90; /* generous: qemu-user runs this several times slower */
  while (disconnects < 2) {
    if (time(NULL) > deadline) return fail("the story did not finish in 90 s");
    event *e = next_event(1);
    if (!e) continue;
    span ev = {e->data, e->len}, m, sub;
    if (getenv("STORY_DEBUG")) {
      span k = ev;
      uint64_t key;
      get_varint(&k, &key);
      span body;
      uint64_t sub_key = 0, room = 0;
      if (get_msg(ev, (int)(key >> 3), &body)) {
        room = get_u64(body, 1);
        get_varint(&body, &sub_key); /* the first field after room_handle */
        if ((sub_key >> 3) == 1) { get_varint(&body, &sub_key); get_varint(&body, &sub_key); }
      }
      fprintf(stderr, "event %d/%d room %llu (%zu bytes)\n", (int)(key >> 3), (int)(sub_key >> 3),
              (unsigned long long)room, e->len);
    }
    if (get_msg(ev, 5, &m)) { /* ConnectCallback */
      uint64_t id = get_u64(m, 1);
      for (int i = 0; i < 2; i++) {
        player *p = players[i];
        if (p->connect_id != id) continue;
        if (get_msg(m, 2, &sub)) {
          fprintf(stderr, "story: %s: connect failed: %.*s\n", p->label, (int)sub.len, (const char *)sub.p);
          return 1;
        }
        p->room = get_path(m, 3, (const int[]){3, 1, 1, 1});
        p->participant = get_path(m, 3, (const int[]){3, 2, 1, 1});
        if (!p->room || !p->participant) return fail("connect callback without handles");
        printf("%s: joined as %s\n", p->label, p->identity);
        buf ready_req = {0};
        put_u64(&ready_req, 1, p->room);
        if (!request(83, &ready_req)) return fail("ready_for_room_event");
        joined++;
        /* B may already know A from its join (A joined first). */
        span remote;
        if (p == &b && get_msg(m, 3, &sub) && get_msg(sub, 3, &remote) && get_msg(remote, 1, &remote) &&
            get_msg(remote, 2, &remote) && get_msg(remote, 3, &remote) && span_is(remote, a.identity))
          b_sees_a = 1;
      }
    } else if (get_msg(ev, 16, &m) || get_msg(ev, 11, &m)) { /* attributes / data callbacks */
      if (get_msg(m, 2, &sub)) {
        fprintf(stderr, "story: callback error: %.*s\n", (int)sub.len, (const char *)sub.p);
        return 1;
      }
    } else if (get_msg(ev, 41, &m)) { /* StreamSendBytesCallback */
      if (get_msg(m, 3, &sub)) return fail("send_bytes failed");
      printf("A: sent the %d-byte stream\n", STREAM_LEN);
    } else if (get_msg(ev, 29, &m) && get_u64(m, 1) == read_id) { /* ByteStreamReaderReadAllCallback */
      if (!get_msg(m, 2, &sub)) return fail("reading the stream failed");
      if (sub.len != STREAM_LEN || memcmp(sub.p, map, STREAM_LEN) != 0) return fail("the stream arrived changed");
      printf("B: read the whole stream (%zu bytes), leaving\n", sub.len);
      done = 1;
      for (int i = 0; i < 2; i++) {
        buf leave = {0};
        put_u64(&leave, 1, players[i]->room);
        put_u64(&leave, 2, next_async_id++);
        if (!request(4, &leave)) return fail("disconnect");
      }
    } else if (get_msg(ev, 7, &m)) { /* DisconnectCallback */
      disconnects++;
    } else if (get_msg(ev, 1, &m)) { /* RoomEvent */
      uint64_t room = get_u64(m, 1);
      span who;
      if (room == b.room && get_msg(m, 2, &sub) && get_msg(sub, 1, &who) && get_msg(who, 2, &who) &&
          get_msg(who, 3, &who) && span_is(who, a.identity)) { /* ParticipantConnected */
        b_sees_a = 1;
      } else if (room == b.room && get_msg(m, 19, &sub)) { /* ParticipantAttributesChanged */
        span entry, value;
        if (get_msg(sub, 1, &who) && span_is(who, a.identity) && get_msg(sub, 3, &entry) &&
            get_msg(entry, 2, &value) && span_is(value, "ready")) {
          printf("B: sees %s ready, sending data\n", a.identity);
          static const char hello[] = "hello from B";
          buf data = {0};
          put_u64(&data, 1, b.participant);
          put_u64(&data, 2, (uint64_t)(uintptr_t)hello);
          put_u64(&data, 3, sizeof hello - 1);
          put_u64(&data, 4, 1); /* reliable */
          put_str(&data, 6, "chat");
          put_str(&data, 7, a.identity);
          put_u64(&data, 8, next_async_id++);
          if (!request(7, &data)) return fail("publish_data");
        }
      } else if (room == a.room && get_msg(m, 27, &sub)) { /* DataPacketReceived */
        span user, info;
        if (get_msg(sub, 4, &user) && get_msg(user, 1, &info)) {
          uint64_t handle = get_path(info, 1, (const int[]){1, 1});
          const char *ptr = (const char *)(uintptr_t)get_path(info, 1, (const int[]){2, 1});
          uint64_t len = get_path(info, 1, (const int[]){2, 2});
          printf("A: got data \"%.*s\", sending a byte stream\n", (int)len, ptr);
          int ok = len == 12 && memcmp(ptr, "hello from B", 12) == 0;
          livekit_ffi_drop_handle(handle);
          if (!ok) return fail("the data packet arrived changed");
          buf options = {0}, send = {0};
          put_str(&options, 1, "map");
          put_str(&options, 3, b.identity);
          put_str(&options, 5, "map.bin");
          put_u64(&send, 1, a.participant);
          put_msg(&send, 2, &options);
          put_bytes(&send, 3, map, sizeof map);
          put_u64(&send, 4, next_async_id++);
          if (!request(67, &send)) return fail("send_bytes");
        }
      } else if (room == b.room && get_msg(m, 34, &sub)) { /* ByteStreamOpened */
        uint64_t reader = get_path(sub, 2, (const int[]){1, 1, 1});
        buf read_all = {0};
        read_id = next_async_id++;
        put_u64(&read_all, 1, reader);
        put_u64(&read_all, 2, read_id);
        if (!request(55, &read_all)) return fail("byte_read_all");
      }
    }
    if (joined == 2 && b_sees_a && !attributes_sent) {
      attributes_sent = 1;
      buf attrs = {0}, entry = {0};
      put_u64(&attrs, 1, a.participant);
      put_str(&entry, 1, "status");
      put_str(&entry, 2, "ready");
      put_msg(&attrs, 2, &entry);
      put_u64(&attrs, 3, next_async_id++);
      if (!request(11, &attrs)) return fail("set_local_attributes");
      printf("A: status=ready\n");
    }
    free(e);
  }
  livekit_ffi_dispose();
  if (!done) return fail("left before the stream was read");
  printf("story: all steps passed\n");
  return 0;
}
