/* pst-bench-client.c: the WebSocket client of the benchmark.  Raw sockets
 * (and GnuTLS for wss://), RFC 6455 framing written out here so that the
 * client costs little next to the gateway it measures.  One JSON line of
 * results on stdout.
 *
 *   pst-bench-client MODE --port P [--host H] [--path /] [--tls] [options]
 *
 *   echo  --bytes N --msg M   a writer thread sends N bytes as binary
 *                             messages of M bytes while a reader takes the
 *                             echo back and checks every byte; MB/s each way
 *   up    --bytes N --msg M   sends N bytes to the sink back-end; done when
 *                             it has acknowledged them all (1 byte per MiB)
 *   down  --bytes N           reads N bytes from the source back-end
 *   lat   --count K --msg M [--budget S]  K round trips of an M-byte
 *                             message, one at a time (fewer if S seconds
 *                             pass first): p50/p90/p99/max in microseconds
 *   conn  --count K [--parallel P] [--msg M] [--budget S]  K new
 *                             connections (fewer if S seconds pass), P at a
 *                             time (threads): each connects, handshakes
 *                             (TLS, then the upgrade), echoes one M-byte
 *                             message (64 by default) and closes; rate and
 *                             connect latency (connect() to the echo back)
 *   hold  --count K [--parallel P]  opens K connections (ws:// or wss://),
 *                             P at a time (threads), each proven by one echo
 *                             (a failure is counted, not fatal), prints
 *                             "ready", holds them until a line (or EOF) on
 *                             stdin, then echoes once more on each and
 *                             reports how many still answered
 *   idle  --count K [--window W]  opens K connections (W handshakes in
 *                             flight), each proven end to end by one small
 *                             echoed message; prints the set-up rate and
 *                             "ready", holds them idle until a line (or EOF)
 *                             on stdin, then reports how many the gateway
 *                             closed meanwhile; --max-seconds bounds the
 *                             set-up, the hold ends after 900 s at most
 *
 * --conns N (echo, up, down): N connections at once share --bytes.
 * --raw: no WebSocket at all, bytes straight over TCP/TLS (a TLS proxy
 * such as nginx's stream module in front of the echo back-end).
 *
 * The certificate of a wss:// gateway is not verified: this is a load tool
 * on loopback, not a client anyone should copy.  Every wait is bounded by
 * --max-seconds (default 300).
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "pst-bench-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port;
static const char *path = "/";
static bool use_tls;
static bool raw_mode;              /* no WebSocket: bytes over TCP/TLS */
static int opt_parallel = 8;
static int opt_conns = 1;
static bool msg_given;
static pthread_mutex_t desc_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t opt_bytes = 64ull * 1024 * 1024;
static size_t opt_msg = 64 * 1024;
static long opt_count = 1000;
static int opt_window = 64;
static double max_seconds = 300;
static double opt_budget = 0;     /* lat: stop after this many seconds (0: no limit) */
static double deadline;

static gnutls_certificate_credentials_t tls_creds;
static char tls_desc[160] = "";

/* ------------------------------------------------------------------------ */
/* A blocking connection (plain or TLS) with a read buffer                   */

typedef struct {
  int              fd;
  gnutls_session_t tls;
  unsigned char   *rbuf;
  size_t           rcap, rpos, rlen;
  /* frame parser */
  int              hdr_need;      /* 0: in a payload */
  unsigned char    hdr[14];
  int              hdr_have;
  uint64_t         left;          /* payload bytes left in the current frame */
  int              opcode;
  bool             closed;
} Ws;

static __thread uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t
rng32 (void)
{
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  return (uint32_t) (x >> 16);
}

static int
tcp_connect (bool nonblock)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  int one = 1;

  if (fd < 0)
    return -1;
  inet_pton (AF_INET, host, &sa.sin_addr);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void
set_timeouts (int fd)
{
  struct timeval tv = { .tv_sec = 60 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static ssize_t
ws_raw_write (Ws *ws, const unsigned char *p, size_t n)
{
  if (ws->tls)
    {
      ssize_t r;
      do
        r = gnutls_record_send (ws->tls, p, n);
      while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
      return r < 0 ? -1 : r;
    }
  ssize_t r;
  do
    r = send (ws->fd, p, n, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r;
}

static void
ws_write_all (Ws *ws, const unsigned char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = ws_raw_write (ws, p, n);
      if (w <= 0)
        BENCH_DIE ("write: %s", w < 0 ? strerror (errno) : "closed");
      p += w;
      n -= w;
    }
}

/* Read more into rbuf; returns bytes read, 0 on EOF. */
static ssize_t
ws_fill (Ws *ws)
{
  if (ws->rpos == ws->rlen)
    ws->rpos = ws->rlen = 0;
  else if (ws->rlen == ws->rcap)
    {
      memmove (ws->rbuf, ws->rbuf + ws->rpos, ws->rlen - ws->rpos);
      ws->rlen -= ws->rpos;
      ws->rpos = 0;
    }
  ssize_t r;
  if (ws->tls)
    {
      do
        r = gnutls_record_recv (ws->tls, ws->rbuf + ws->rlen, ws->rcap - ws->rlen);
      while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
      if (r == GNUTLS_E_PREMATURE_TERMINATION)
        r = 0;
      if (r < 0)
        BENCH_DIE ("TLS read: %s", gnutls_strerror ((int) r));
    }
  else
    {
      do
        r = recv (ws->fd, ws->rbuf + ws->rlen, ws->rcap - ws->rlen, 0);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        BENCH_DIE ("read: %s", strerror (errno));
    }
  ws->rlen += r;
  return r;
}

/* Like ws_fill, but returns -1 on an error (timeout included) instead of
 * exiting: the held connections count what fails. */
static ssize_t
ws_fill_soft (Ws *ws)
{
  if (ws->rpos == ws->rlen)
    ws->rpos = ws->rlen = 0;
  else if (ws->rlen == ws->rcap)
    {
      memmove (ws->rbuf, ws->rbuf + ws->rpos, ws->rlen - ws->rpos);
      ws->rlen -= ws->rpos;
      ws->rpos = 0;
    }
  ssize_t r;
  if (ws->tls)
    {
      /* GNUTLS_E_AGAIN also comes after a TLS 1.3 post-handshake message
       * (a session ticket) with no data: read again.  After the socket's
       * receive timeout (10 s at least) it means the timeout: give up. */
      double t0 = bench_now ();
      do
        r = gnutls_record_recv (ws->tls, ws->rbuf + ws->rlen, ws->rcap - ws->rlen);
      while (r == GNUTLS_E_INTERRUPTED || (r == GNUTLS_E_AGAIN && bench_now () - t0 < 5));
      if (r == GNUTLS_E_PREMATURE_TERMINATION)
        r = 0;
      if (r < 0)
        return -1;
    }
  else
    {
      do
        r = recv (ws->fd, ws->rbuf + ws->rlen, ws->rcap - ws->rlen, 0);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        return -1;
    }
  ws->rlen += r;
  return r;
}

static const char handshake_fmt[] =
  "GET %s HTTP/1.1\r\n"
  "Host: %s:%d\r\n"
  "Upgrade: websocket\r\n"
  "Connection: Upgrade\r\n"
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
  "Sec-WebSocket-Version: 13\r\n"
  "\r\n";

static void ws_free (Ws *ws);

/* Opens a connection (TCP, TLS, upgrade); NULL with *why set on failure. */
static Ws *
ws_try_open (size_t rcap, const char **why)
{
  Ws *ws = calloc (1, sizeof *ws);
  ws->rcap = rcap;
  ws->rbuf = malloc (ws->rcap);
  ws->hdr_need = 2;
  ws->fd = tcp_connect (false);
  if (ws->fd < 0)
    {
      *why = "connect";
      free (ws->rbuf);
      free (ws);
      return NULL;
    }
  set_timeouts (ws->fd);
  if (use_tls)
    {
      int r;
      gnutls_init (&ws->tls, GNUTLS_CLIENT);
      if (gnutls_priority_set_direct (ws->tls, BENCH_TLS_PRIORITY, NULL) < 0)
        BENCH_DIE ("GnuTLS priority %s refused", BENCH_TLS_PRIORITY);
      gnutls_credentials_set (ws->tls, GNUTLS_CRD_CERTIFICATE, tls_creds);
      gnutls_transport_set_int (ws->tls, ws->fd);
      do
        r = gnutls_handshake (ws->tls);
      while (r < 0 && !gnutls_error_is_fatal (r));
      if (r < 0)
        {
          *why = "TLS handshake";
          ws_free (ws);
          return NULL;
        }
      pthread_mutex_lock (&desc_lock);
      if (tls_desc[0] == '\0')
        {
          char *desc = gnutls_session_get_desc (ws->tls);
          snprintf (tls_desc, sizeof tls_desc, "%s", desc);
          gnutls_free (desc);
        }
      pthread_mutex_unlock (&desc_lock);
    }
  if (raw_mode)
    return ws;
  char req[512];
  int n = snprintf (req, sizeof req, handshake_fmt, path, host, port);
  for (int done = 0; done < n;)
    {
      ssize_t w = ws_raw_write (ws, (unsigned char *) req + done, n - done);
      if (w <= 0)
        {
          *why = "upgrade request";
          ws_free (ws);
          return NULL;
        }
      done += w;
    }
  /* read the response head */
  for (;;)
    {
      void *end = memmem (ws->rbuf, ws->rlen, "\r\n\r\n", 4);
      if (end != NULL)
        {
          if (ws->rlen < 12 || memcmp (ws->rbuf + 9, "101", 3) != 0)
            {
              *why = "upgrade refused";
              ws_free (ws);
              return NULL;
            }
          ws->rpos = (unsigned char *) end + 4 - ws->rbuf;
          break;
        }
      if (ws->rlen == ws->rcap || ws_fill_soft (ws) <= 0)
        {
          *why = "no upgrade response";
          ws_free (ws);
          return NULL;
        }
    }
  return ws;
}

static Ws *
ws_open_buf (size_t rcap)
{
  const char *why = NULL;
  Ws *ws = ws_try_open (rcap, &why);
  if (ws == NULL)
    BENCH_DIE ("%s with %s:%d failed: %s", why, host, port, errno ? strerror (errno) : "closed");
  return ws;
}

static Ws *
ws_open (void)
{
  return ws_open_buf (256 * 1024);
}

static void
ws_free (Ws *ws)
{
  int saved = errno;
  if (ws->tls)
    gnutls_deinit (ws->tls);
  close (ws->fd);
  free (ws->rbuf);
  free (ws);
  errno = saved;
}

static void
ws_close (Ws *ws)
{
  static const unsigned char close_frame[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8 };
  if (!raw_mode)
    ws_raw_write (ws, close_frame, sizeof close_frame);
  if (ws->tls)
    {
      gnutls_bye (ws->tls, GNUTLS_SHUT_WR);
      gnutls_deinit (ws->tls);
    }
  close (ws->fd);
  free (ws->rbuf);
  free (ws);
}

/* Parse what is buffered; hand data-frame payload to consume().  Returns
 * false once a close frame arrived. */
typedef void (*ConsumeFn) (const unsigned char *p, size_t n, void *data);

static bool
ws_parse (Ws *ws, ConsumeFn consume, void *data)
{
  if (raw_mode)
    {
      if (ws->rlen > ws->rpos)
        consume (ws->rbuf + ws->rpos, ws->rlen - ws->rpos, data);
      ws->rpos = ws->rlen;
      return true;
    }
  while (ws->rpos < ws->rlen)
    {
      if (ws->hdr_need > 0)
        {
          while (ws->hdr_have < ws->hdr_need && ws->rpos < ws->rlen)
            {
              ws->hdr[ws->hdr_have++] = ws->rbuf[ws->rpos++];
              if (ws->hdr_have == 2)
                {
                  int len7 = ws->hdr[1] & 0x7f;
                  if (ws->hdr[1] & 0x80)
                    BENCH_DIE ("masked frame from the server");
                  ws->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
                }
            }
          if (ws->hdr_have < ws->hdr_need)
            return true;
          int len7 = ws->hdr[1] & 0x7f;
          uint64_t len = len7;
          if (len7 == 126)
            len = (ws->hdr[2] << 8) | ws->hdr[3];
          else if (len7 == 127)
            {
              len = 0;
              for (int i = 2; i < 10; i++)
                len = (len << 8) | ws->hdr[i];
            }
          ws->opcode = ws->hdr[0] & 0x0f;
          ws->left = len;
          ws->hdr_need = 0;
          ws->hdr_have = 0;
          if (ws->opcode == 8)
            {
              ws->closed = true;
              return false;
            }
        }
      size_t n = ws->rlen - ws->rpos;
      if (n > ws->left)
        n = ws->left;
      if (n > 0 && ws->opcode <= 2)
        consume (ws->rbuf + ws->rpos, n, data);
      ws->rpos += n;
      ws->left -= n;
      if (ws->left == 0)
        ws->hdr_need = 2;
    }
  return true;
}

/* Build one masked binary frame carrying the pattern from stream offset off. */
static size_t
make_frame (unsigned char *f, uint64_t off, size_t len)
{
  size_t h = 0;
  if (raw_mode)
    {
      for (size_t done = 0; done < len;)
        {
          size_t o = (off + done) % BENCH_PERIOD;
          size_t k = BENCH_PERIOD - o;
          if (k > len - done)
            k = len - done;
          memcpy (f + done, bench_pattern + o, k);
          done += k;
        }
      return len;
    }
  f[h++] = 0x82;
  if (len < 126)
    f[h++] = 0x80 | len;
  else if (len < 65536)
    {
      f[h++] = 0x80 | 126;
      f[h++] = len >> 8;
      f[h++] = len & 0xff;
    }
  else
    {
      f[h++] = 0x80 | 127;
      for (int i = 7; i >= 0; i--)
        f[h++] = (len >> (8 * i)) & 0xff;
    }
  uint32_t key = rng32 ();
  memcpy (f + h, &key, 4);
  h += 4;
  unsigned char *p = f + h;
  for (size_t done = 0; done < len;)
    {
      size_t o = (off + done) % BENCH_PERIOD;
      size_t k = BENCH_PERIOD - o;
      if (k > len - done)
        k = len - done;
      memcpy (p + done, bench_pattern + o, k);
      done += k;
    }
  uint64_t key64 = (uint64_t) key | ((uint64_t) key << 32);
  size_t i = 0;
  for (; i + 8 <= len; i += 8)
    {
      uint64_t w;
      memcpy (&w, p + i, 8);
      w ^= key64;
      memcpy (p + i, &w, 8);
    }
  for (; i < len; i++)
    p[i] ^= ((unsigned char *) &key)[i & 3];
  return h + len;
}

/* ------------------------------------------------------------------------ */
/* Stream checks                                                             */

typedef struct {
  uint64_t got;
  uint64_t bad;
  bool     verify;
} Counter;

static void
consume_check (const unsigned char *p, size_t n, void *data)
{
  Counter *c = data;
  if (c->verify)
    for (size_t done = 0; done < n;)
      {
        size_t o = (c->got + done) % BENCH_PERIOD;
        size_t k = BENCH_PERIOD - o;
        if (k > n - done)
          k = n - done;
        if (memcmp (p + done, bench_pattern + o, k) != 0)
          c->bad++;
        done += k;
      }
  c->got += n;
}

/* Read until the counter reaches want bytes (or the peer closes). */
static void
read_until (Ws *ws, Counter *c, uint64_t want)
{
  while (c->got < want)
    {
      if (!ws_parse (ws, consume_check, c))
        BENCH_DIE ("the gateway closed the WebSocket after %llu of %llu bytes",
                   (unsigned long long) c->got, (unsigned long long) want);
      if (c->got >= want)
        break;
      if (bench_now () > deadline)
        BENCH_DIE ("timed out after %llu of %llu bytes", (unsigned long long) c->got,
                   (unsigned long long) want);
      if (ws_fill (ws) == 0)
        BENCH_DIE ("connection closed after %llu of %llu bytes", (unsigned long long) c->got,
                   (unsigned long long) want);
    }
}

typedef struct {
  Ws      *ws;
  uint64_t bytes;
  size_t   msg;
} Writer;

static void *
writer_main (void *data)
{
  Writer *w = data;
  unsigned char *frame = malloc (w->msg + 14);
  for (uint64_t off = 0; off < w->bytes;)
    {
      size_t len = w->msg;
      if (len > w->bytes - off)
        len = w->bytes - off;
      size_t n = make_frame (frame, off, len);
      ws_write_all (w->ws, frame, n);
      off += len;
    }
  free (frame);
  return NULL;
}

static void
print_rate (const char *mode, uint64_t bytes, double secs, uint64_t bad)
{
  printf ("{\"mode\": \"%s\", \"tls\": %s, \"conns\": %d, \"bytes\": %llu, \"msg\": %zu, \"seconds\": %.6f, "
          "\"mb_per_s\": %.3f, \"bad_chunks\": %llu, \"tls_desc\": \"%s\"}\n",
          mode, use_tls ? "true" : "false", opt_conns, (unsigned long long) bytes, opt_msg, secs,
          bytes / secs / 1e6, (unsigned long long) bad, tls_desc);
}

typedef struct {
  Ws       *ws;
  Counter   c;
  uint64_t  want;
  pthread_t reader, writer;
  Writer    w;
} Stream;

static void *
reader_main (void *data)
{
  Stream *st = data;
  read_until (st->ws, &st->c, st->want);
  return NULL;
}

/* --conns N streams at once, each with its writer and reader threads;
 * --bytes is shared between them. */
static int
run_stream (const char *mode)
{
  bool up = strcmp (mode, "up") == 0, down = strcmp (mode, "down") == 0;
  int n = opt_conns;
  Stream *st = calloc (n, sizeof *st);
  uint64_t per = opt_bytes / n, bad = 0;

  for (int i = 0; i < n; i++)
    {
      st[i].ws = ws_open ();
      st[i].c.verify = !up;
      st[i].want = up ? per / BENCH_ACK_UNIT : per;
      st[i].w = (Writer) { st[i].ws, per, opt_msg };
    }
  double t0 = bench_now ();
  for (int i = 0; i < n; i++)
    {
      if (!down)
        pthread_create (&st[i].writer, NULL, writer_main, &st[i].w);
      pthread_create (&st[i].reader, NULL, reader_main, &st[i]);
    }
  for (int i = 0; i < n; i++)
    {
      pthread_join (st[i].reader, NULL);
      if (!down)
        pthread_join (st[i].writer, NULL);
    }
  double secs = bench_now () - t0;
  for (int i = 0; i < n; i++)
    {
      bad += st[i].c.bad;
      ws_close (st[i].ws);
    }
  free (st);
  print_rate (mode, per * n, secs, bad);
  return bad ? 1 : 0;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int
run_latency (void)
{
  Ws *ws = ws_open ();
  Counter c = { .verify = true };
  unsigned char *frame = malloc (opt_msg + 14);
  double *rtt = malloc (sizeof (double) * opt_count);
  uint64_t off = 0;
  int warm = 200;
  double stop_at = opt_budget > 0 ? bench_now () + opt_budget : 0;
  long done = 0;

  for (long i = -warm; i < opt_count; i++)
    {
      if (stop_at > 0 && i >= 10 && bench_now () > stop_at)
        break;
      size_t n = make_frame (frame, off, opt_msg);
      double t0 = bench_now ();
      ws_write_all (ws, frame, n);
      off += opt_msg;
      read_until (ws, &c, off);
      if (i >= 0)
        {
          rtt[i] = (bench_now () - t0) * 1e6;
          done = i + 1;
        }
    }
  opt_count = done;
  qsort (rtt, opt_count, sizeof (double), cmp_double);
  double sum = 0;
  for (long i = 0; i < opt_count; i++)
    sum += rtt[i];
#define PCT(p) rtt[(long) ((p) / 100.0 * (opt_count - 1))]
  printf ("{\"mode\": \"lat\", \"tls\": %s, \"count\": %ld, \"msg\": %zu, \"p50_us\": %.2f, "
          "\"p90_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f, \"mean_us\": %.2f, \"bad_chunks\": %llu}\n",
          use_tls ? "true" : "false", opt_count, opt_msg, PCT (50), PCT (90), PCT (99),
          rtt[opt_count - 1], sum / opt_count, (unsigned long long) c.bad);
  free (rtt);
  free (frame);
  ws_close (ws);
  return c.bad ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* New connections: P threads, each open / one echo / close, K in all        */

static long conn_next;              /* next connection to make (shared) */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static double *conn_ms;             /* connect latency of each, ms */
static uint64_t conn_bad;
static long conn_done;              /* made: conn_ms[0 .. conn_done) */
static double conn_stop;            /* --budget: no new connection after this */

static void *
conn_main (void *data)
{
  unsigned char *frame = malloc (opt_msg + 14);

  for (;;)
    {
      pthread_mutex_lock (&conn_lock);
      long i = conn_next < opt_count ? conn_next++ : -1;
      pthread_mutex_unlock (&conn_lock);
      if (i < 0 || bench_now () > deadline || (conn_stop > 0 && bench_now () > conn_stop))
        {
          if (i < 0)
            break;
          continue;
        }
      double t0 = bench_now ();
      Ws *ws = ws_open_buf (16 * 1024);
      Counter c = { .verify = true };
      size_t n = make_frame (frame, 0, opt_msg);
      ws_write_all (ws, frame, n);
      read_until (ws, &c, opt_msg);
      conn_ms[__atomic_fetch_add (&conn_done, 1, __ATOMIC_RELAXED)] = (bench_now () - t0) * 1e3;
      ws_close (ws);
      if (c.bad)
        __atomic_add_fetch (&conn_bad, c.bad, __ATOMIC_RELAXED);
    }
  free (frame);
  return NULL;
}

static int
run_conn (void)
{
  pthread_t *t = calloc (opt_parallel, sizeof *t);
  conn_ms = calloc (opt_count, sizeof (double));
  double t0 = bench_now ();
  if (opt_budget > 0)
    conn_stop = t0 + opt_budget;

  for (int i = 0; i < opt_parallel; i++)
    pthread_create (&t[i], NULL, conn_main, NULL);
  for (int i = 0; i < opt_parallel; i++)
    pthread_join (t[i], NULL);
  double secs = bench_now () - t0;
  long done = conn_done;
  if (done <= 0 || (done < opt_count && opt_budget <= 0))
    BENCH_DIE ("conn: only %ld of %ld connections within --max-seconds", done, opt_count);
  qsort (conn_ms, done, sizeof (double), cmp_double);
  printf ("{\"mode\": \"conn\", \"tls\": %s, \"raw\": %s, \"count\": %ld, \"parallel\": %d, "
          "\"seconds\": %.6f, \"per_s\": %.2f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
          "\"bad_chunks\": %llu, \"tls_desc\": \"%s\"}\n",
          use_tls ? "true" : "false", raw_mode ? "true" : "false", done, opt_parallel, secs, done / secs,
          conn_ms[done / 2], conn_ms[(long) (0.9 * (done - 1))], conn_ms[(long) (0.99 * (done - 1))],
          (unsigned long long) conn_bad, tls_desc);
  free (conn_ms);
  free (t);
  return conn_bad ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Held connections (TLS or not): P threads open K, then they wait          */

static Ws **held;
static long hold_failed;
static char hold_why[128];

/* One echo of len pattern bytes from stream offset off; false if it does not
 * come back whole and intact (closed, timed out, damaged), without exiting. */
static bool
echo_soft (Ws *ws, uint64_t off, size_t len)
{
  unsigned char frame[64 + 14];
  size_t n = make_frame (frame, off, len);
  for (size_t done = 0; done < n;)
    {
      ssize_t w = ws_raw_write (ws, frame + done, n - done);
      if (w <= 0)
        return false;
      done += w;
    }
  Counter c = { .verify = true, .got = off };
  for (;;)
    {
      if (!ws_parse (ws, consume_check, &c))
        return false;
      if (c.got >= off + len)
        return c.bad == 0;
      if (ws_fill_soft (ws) <= 0)
        return false;
    }
}

static void
hold_note_failure (const char *why)
{
  pthread_mutex_lock (&desc_lock);
  hold_failed++;
  if (hold_why[0] == '\0')
    snprintf (hold_why, sizeof hold_why, "%s: %s", why, errno ? strerror (errno) : "closed");
  pthread_mutex_unlock (&desc_lock);
}

static void *
hold_main (void *data)
{
  for (;;)
    {
      pthread_mutex_lock (&conn_lock);
      long i = conn_next < opt_count ? conn_next++ : -1;
      pthread_mutex_unlock (&conn_lock);
      if (i < 0 || bench_now () > deadline)
        break;
      const char *why = NULL;
      errno = 0;
      Ws *ws = ws_try_open (4096, &why);
      if (ws == NULL)
        {
          hold_note_failure (why);
          continue;
        }
      if (!echo_soft (ws, 0, 8))
        {
          hold_note_failure ("first echo");
          ws_free (ws);
          continue;
        }
      held[i] = ws;
    }
  return NULL;
}

/* Opens K connections with P threads (bounded parallelism: each thread has
 * one handshake in flight), a failed one counted rather than fatal; prints
 * the set-up line and "ready"; holds them until a line (or EOF) on stdin,
 * 900 s at most; then every held connection echoes once more (10 s each,
 * 120 s in all) and the end line says how many did. */
static int
run_hold (void)
{
  pthread_t *t = calloc (opt_parallel, sizeof *t);
  held = calloc (opt_count, sizeof (Ws *));
  double t0 = bench_now ();

  for (int i = 0; i < opt_parallel; i++)
    pthread_create (&t[i], NULL, hold_main, NULL);
  for (int i = 0; i < opt_parallel; i++)
    pthread_join (t[i], NULL);
  double secs = bench_now () - t0;
  long ok = 0;
  for (long i = 0; i < opt_count; i++)
    ok += held[i] != NULL;
  printf ("{\"mode\": \"hold\", \"tls\": %s, \"count\": %ld, \"ok\": %ld, \"failed\": %ld, "
          "\"seconds\": %.6f, \"per_s\": %.1f, \"parallel\": %d, \"first_failure\": \"%s\"}\nready\n",
          use_tls ? "true" : "false", opt_count, ok, opt_count - ok, secs, ok / secs, opt_parallel,
          hold_why);
  fflush (stdout);

  /* until a line or EOF on stdin (at most 900 s) */
  struct pollfd pfd = { .fd = 0, .events = POLLIN };
  poll (&pfd, 1, 900 * 1000);
  double t1 = bench_now ();
  deadline = t1 + 120;

  /* each one echoes once more: the gateway kept them all */
  long alive = 0, unchecked = 0;
  for (long i = 0; i < opt_count; i++)
    if (held[i] != NULL)
      {
        if (bench_now () > deadline)
          {
            unchecked++;
            ws_free (held[i]);
            continue;
          }
        struct timeval tv = { .tv_sec = 10 };
        setsockopt (held[i]->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        alive += echo_soft (held[i], 8, 8);
        ws_close (held[i]);
      }
  printf ("{\"mode\": \"hold-end\", \"still_echoing\": %ld, \"closed_while_idle\": %ld, \"unchecked\": %ld, "
          "\"check_seconds\": %.3f}\n", alive, ok - alive - unchecked, unchecked, bench_now () - t1);
  fflush (stdout);
  free (held);
  free (t);
  return ok == opt_count && alive == ok ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* Many idle connections: a non-blocking state machine over epoll            */

enum { ST_CONNECTING, ST_HEAD, ST_ECHO, ST_IDLE, ST_DEAD };

#define PROBE_LEN 8

typedef struct {
  int      fd;
  int      state;
  double   started;
  char     head[1024];
  size_t   head_len;
  Ws       parser;        /* only the frame parser fields are used */
  Counter  echoed;
} Idle;

static int
idle_fail (Idle *c, int epfd)
{
  epoll_ctl (epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
  c->state = ST_DEAD;
  return -1;
}

/* Advance one connection; returns 1 when it became idle, -1 on failure. */
static int
idle_step (Idle *c, int epfd, uint32_t ev)
{
  if (c->state == ST_CONNECTING)
    {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (ev & EPOLLERR))
        return idle_fail (c, epfd);
      char req[512];
      int n = snprintf (req, sizeof req, handshake_fmt, path, host, port);
      if (send (c->fd, req, n, MSG_NOSIGNAL) != n)
        return idle_fail (c, epfd);
      struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
      epoll_ctl (epfd, EPOLL_CTL_MOD, c->fd, &e);
      c->state = ST_HEAD;
      return 0;
    }
  unsigned char buf[4096];
  ssize_t r = recv (c->fd, buf, sizeof buf, 0);
  if (r < 0 && errno == EAGAIN)
    return 0;
  if (r <= 0)
    return idle_fail (c, epfd);
  if (c->state == ST_IDLE)
    return 0;              /* unexpected data on an idle connection: ignore */
  size_t used = 0;
  if (c->state == ST_HEAD)
    {
      size_t take = r;
      if (take > sizeof c->head - c->head_len)
        take = sizeof c->head - c->head_len;
      memcpy (c->head + c->head_len, buf, take);
      c->head_len += take;
      char *end = memmem (c->head, c->head_len, "\r\n\r\n", 4);
      if (end == NULL)
        return c->head_len == sizeof c->head ? idle_fail (c, epfd) : 0;
      if (c->head_len < 12 || memcmp (c->head + 9, "101", 3) != 0)
        return idle_fail (c, epfd);
      size_t head_end = end + 4 - c->head;
      used = take - (c->head_len - head_end);    /* where the frames start in buf */
      unsigned char frame[PROBE_LEN + 14];
      size_t n = make_frame (frame, 0, PROBE_LEN);
      if (send (c->fd, frame, n, MSG_NOSIGNAL) != (ssize_t) n)
        return idle_fail (c, epfd);
      c->state = ST_ECHO;
      c->parser.hdr_need = 2;
      c->echoed.verify = true;
    }
  c->parser.rbuf = buf;
  c->parser.rpos = used;
  c->parser.rlen = r;
  if (!ws_parse (&c->parser, consume_check, &c->echoed) || c->echoed.bad)
    return idle_fail (c, epfd);
  c->parser.rbuf = NULL;
  if (c->echoed.got >= PROBE_LEN)
    {
      c->state = ST_IDLE;
      return 1;
    }
  return 0;
}

static int
run_idle (void)
{
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  Idle *conns = calloc (opt_count, sizeof (Idle));
  long next = 0, ok = 0, failed = 0, in_flight = 0;
  double t0 = bench_now (), last_ok = t0;
  struct epoll_event evs[256];

  while ((ok + failed < opt_count) && bench_now () < deadline)
    {
      while (next < opt_count && in_flight < opt_window)
        {
          Idle *c = &conns[next++];
          c->fd = tcp_connect (true);
          c->started = bench_now ();
          if (c->fd < 0)
            {
              c->state = ST_DEAD;
              failed++;
              continue;
            }
          c->state = ST_CONNECTING;
          struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
          epoll_ctl (epfd, EPOLL_CTL_ADD, c->fd, &e);
          in_flight++;
        }
      int n = epoll_wait (epfd, evs, 256, 200);
      for (int i = 0; i < n; i++)
        {
          Idle *c = evs[i].data.ptr;
          int r = idle_step (c, epfd, evs[i].events);
          if (r == 1)
            {
              ok++;
              in_flight--;
              last_ok = bench_now ();
            }
          else if (r < 0)
            {
              failed++;
              in_flight--;
            }
        }
      /* a handshake that takes more than 30 s counts as failed */
      double now = bench_now ();
      for (long i = 0; i < next && n == 0; i++)
        if (conns[i].state != ST_IDLE && conns[i].state != ST_DEAD && now - conns[i].started > 30)
          {
            idle_fail (&conns[i], epfd);
            failed++;
            in_flight--;
          }
    }
  double secs = last_ok - t0;
  printf ("{\"mode\": \"idle\", \"count\": %ld, \"ok\": %ld, \"failed\": %ld, \"seconds\": %.6f, "
          "\"per_s\": %.1f}\nready\n", opt_count, ok, failed, secs, ok > 0 ? ok / secs : 0.0);
  fflush (stdout);

  /* hold: watch stdin and the connections (bounded apart from the set-up) */
  double hold_until = bench_now () + 900;
  struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl (epfd, EPOLL_CTL_ADD, 0, &e);
  long closed = 0;
  bool done = false;
  while (!done && bench_now () < hold_until)
    {
      int n = epoll_wait (epfd, evs, 256, 500);
      for (int i = 0; i < n; i++)
        {
          if (evs[i].data.ptr == NULL)
            {
              done = true;
              continue;
            }
          Idle *c = evs[i].data.ptr;
          if (c->state == ST_IDLE && idle_step (c, epfd, evs[i].events) < 0)
            closed++;
        }
    }
  printf ("{\"mode\": \"idle-hold\", \"closed_while_idle\": %ld}\n", closed);
  fflush (stdout);
  for (long i = 0; i < opt_count; i++)
    if (conns[i].fd > 0)
      close (conns[i].fd);
  free (conns);
  return failed > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------------ */

int
main (int argc, char **argv)
{
  if (argc < 2)
    BENCH_DIE ("usage: %s echo|up|down|lat|conn|hold|idle --port P [options]", argv[0]);
  const char *mode = argv[1];
  for (int i = 2; i < argc; i++)
    {
      const char *a = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--tls") == 0)
        use_tls = true;
      else if (strcmp (a, "--raw") == 0)
        raw_mode = true;
      else if (v == NULL)
        BENCH_DIE ("%s needs a value", a);
      else if (strcmp (a, "--host") == 0)
        host = v, i++;
      else if (strcmp (a, "--port") == 0)
        port = atoi (v), i++;
      else if (strcmp (a, "--path") == 0)
        path = v, i++;
      else if (strcmp (a, "--bytes") == 0)
        opt_bytes = strtoull (v, NULL, 10), i++;
      else if (strcmp (a, "--msg") == 0)
        opt_msg = strtoull (v, NULL, 10), msg_given = true, i++;
      else if (strcmp (a, "--parallel") == 0)
        opt_parallel = atoi (v), i++;
      else if (strcmp (a, "--conns") == 0)
        opt_conns = atoi (v), i++;
      else if (strcmp (a, "--count") == 0)
        opt_count = atol (v), i++;
      else if (strcmp (a, "--window") == 0)
        opt_window = atoi (v), i++;
      else if (strcmp (a, "--budget") == 0)
        opt_budget = atof (v), i++;
      else if (strcmp (a, "--max-seconds") == 0)
        max_seconds = atof (v), i++;
      else
        BENCH_DIE ("unknown option %s", a);
    }
  if (port <= 0 || opt_msg == 0 || opt_count <= 0 || opt_window <= 0 || opt_parallel <= 0 || opt_conns <= 0)
    BENCH_DIE ("--port, --msg, --count, --window, --parallel and --conns must be positive");
  if (strcmp (mode, "conn") == 0 && !msg_given)
    opt_msg = 64;
  bench_pattern_init ();
  bench_raise_nofile ();
  signal (SIGPIPE, SIG_IGN);
  rng_state ^= (uint64_t) getpid () << 20;
  deadline = bench_now () + max_seconds;
  if (use_tls)
    gnutls_certificate_allocate_credentials (&tls_creds);

  if (strcmp (mode, "echo") == 0 || strcmp (mode, "up") == 0 || strcmp (mode, "down") == 0)
    return run_stream (mode);
  if (strcmp (mode, "lat") == 0)
    return run_latency ();
  if (strcmp (mode, "conn") == 0)
    return run_conn ();
  if (strcmp (mode, "hold") == 0)
    return run_hold ();
  if (strcmp (mode, "idle") == 0)
    {
      if (use_tls || raw_mode)
        BENCH_DIE ("idle: ws:// only (hold takes wss://)");
      return run_idle ();
    }
  BENCH_DIE ("unknown mode %s", mode);
}
