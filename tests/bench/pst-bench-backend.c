/* pst-bench-backend.c: the plain-TCP back-end every gateway in the benchmark
 * forwards to.  One thread, epoll, non-blocking sockets, three listeners on
 * 127.0.0.1 (free ports chosen by the kernel):
 *   echo    writes back what it reads (bounded buffer; stops reading while
 *           the peer is not taking what it wrote),
 *   sink    discards what it reads and answers one byte per MiB received,
 *   source  sends --source-bytes bytes of the shared pattern, then idles.
 * With --tls-cert FILE --tls-key FILE, a fourth listener:
 *   tls-echo  a TLS (GnuTLS, the default priorities) echo, one thread per
 *           connection with blocking I/O, for the wss:// -> ssl:// path.
 * Prints "echo PORT", "sink PORT", "source PORT" (and "tls-echo PORT") and
 * "ready" on stdout.
 * Exits when stdin reaches EOF, on SIGTERM/SIGINT, or after --max-seconds.
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "pst-bench-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { KIND_ECHO, KIND_SINK, KIND_SOURCE, KIND_LISTEN, KIND_STDIN };

#define ECHO_BUF (256 * 1024)

typedef struct {
  int            fd;
  int            kind;
  int            listen_kind;     /* for listeners: what their connections are */
  unsigned char *buf;             /* echo: pending bytes [head, tail) */
  size_t         head, tail;
  uint64_t       total;           /* sink: bytes received; source: bytes sent */
  uint64_t       acks_sent;
  uint32_t       events;
} Conn;

static int epfd;
static volatile sig_atomic_t stop;
static uint64_t source_bytes = 512ull * 1024 * 1024;

static void
on_signal (int sig)
{
  stop = 1;
}

static void
set_events (Conn *c, uint32_t ev)
{
  if (c->events == ev)
    return;
  struct epoll_event e = { .events = ev, .data.ptr = c };
  if (epoll_ctl (epfd, EPOLL_CTL_MOD, c->fd, &e) < 0)
    BENCH_DIE ("epoll_ctl MOD: %s", strerror (errno));
  c->events = ev;
}

static void
conn_close (Conn *c)
{
  epoll_ctl (epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  free (c->buf);
  free (c);
}

static int
listen_on (int kind, Conn **out)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
  socklen_t len = sizeof sa;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 4096) < 0)
    BENCH_DIE ("bind/listen: %s", strerror (errno));
  getsockname (fd, (struct sockaddr *) &sa, &len);
  Conn *c = calloc (1, sizeof *c);
  c->fd = fd;
  c->kind = KIND_LISTEN;
  c->listen_kind = kind;
  c->events = EPOLLIN;
  struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
  epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &e);
  *out = c;
  return ntohs (sa.sin_port);
}

/* Returns 0 to keep the connection, -1 to close it. */
static int
source_write (Conn *c)
{
  for (int rounds = 0; rounds < 64 && c->total < source_bytes; rounds++)
    {
      size_t off = c->total % BENCH_PERIOD;
      size_t n = BENCH_PERIOD - off;
      if (n > source_bytes - c->total)
        n = source_bytes - c->total;
      ssize_t w = send (c->fd, bench_pattern + off, n, MSG_NOSIGNAL);
      if (w < 0)
        {
          if (errno == EAGAIN)
            {
              set_events (c, EPOLLIN | EPOLLOUT);
              return 0;
            }
          return -1;
        }
      c->total += w;
    }
  set_events (c, c->total < source_bytes ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
  return 0;
}

static int
sink_acks (Conn *c)
{
  static const unsigned char ones[64] = { [0 ... 63] = 1 };
  uint64_t due = c->total / BENCH_ACK_UNIT - c->acks_sent;
  while (due > 0)
    {
      ssize_t w = send (c->fd, ones, due > sizeof ones ? sizeof ones : due, MSG_NOSIGNAL);
      if (w < 0)
        {
          if (errno == EAGAIN)
            {
              set_events (c, EPOLLIN | EPOLLOUT);
              return 0;
            }
          return -1;
        }
      c->acks_sent += w;
      due -= w;
    }
  set_events (c, EPOLLIN);
  return 0;
}

static int
echo_io (Conn *c)
{
  for (int rounds = 0; rounds < 16; rounds++)
    {
      if (c->head == c->tail)
        {
          c->head = c->tail = 0;
          if (c->buf == NULL)
            c->buf = malloc (ECHO_BUF);
          ssize_t r = recv (c->fd, c->buf, ECHO_BUF, 0);
          if (r == 0)
            return -1;
          if (r < 0)
            {
              if (errno == EAGAIN)
                {
                  set_events (c, EPOLLIN);
                  return 0;
                }
              return -1;
            }
          c->tail = r;
        }
      ssize_t w = send (c->fd, c->buf + c->head, c->tail - c->head, MSG_NOSIGNAL);
      if (w < 0)
        {
          if (errno == EAGAIN)
            {
              set_events (c, EPOLLOUT);   /* stop reading until the peer takes it */
              return 0;
            }
          return -1;
        }
      c->head += w;
      if (c->head < c->tail)
        {
          set_events (c, EPOLLOUT);
          return 0;
        }
    }
  set_events (c, EPOLLIN);
  return 0;
}

static int
sink_read (Conn *c)
{
  static unsigned char scratch[256 * 1024];
  for (int rounds = 0; rounds < 16; rounds++)
    {
      ssize_t r = recv (c->fd, scratch, sizeof scratch, 0);
      if (r == 0)
        return -1;
      if (r < 0)
        return errno == EAGAIN ? sink_acks (c) : -1;
      c->total += r;
    }
  return sink_acks (c);
}

static int
handle (Conn *c, uint32_t ev)
{
  if (c->kind == KIND_STDIN)
    {
      char b[64];
      ssize_t r = read (c->fd, b, sizeof b);
      if (r <= 0)
        stop = 1;
      return 0;
    }
  if (c->kind == KIND_LISTEN)
    {
      for (int i = 0; i < 256; i++)
        {
          int fd = accept4 (c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0)
            break;
          int one = 1;
          setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          Conn *n = calloc (1, sizeof *n);
          n->fd = fd;
          n->kind = c->listen_kind;
          n->events = n->kind == KIND_SOURCE ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
          struct epoll_event e = { .events = n->events, .data.ptr = n };
          epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &e);
        }
      return 0;
    }
  if (ev & (EPOLLERR))
    return -1;
  switch (c->kind)
    {
    case KIND_ECHO:
      return echo_io (c);
    case KIND_SINK:
      if (ev & EPOLLOUT)
        if (sink_acks (c) < 0)
          return -1;
      return (ev & (EPOLLIN | EPOLLHUP)) ? sink_read (c) : 0;
    case KIND_SOURCE:
      if (ev & (EPOLLIN | EPOLLHUP))
        {
          char b[4096];
          ssize_t r = recv (c->fd, b, sizeof b, 0);
          if (r == 0 || (r < 0 && errno != EAGAIN))
            return -1;
        }
      return source_write (c);
    }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* TLS echo: an accept thread, then a small thread per connection           */

static gnutls_certificate_credentials_t tls_creds;

static void *
tls_conn_main (void *data)
{
  int fd = (int) (intptr_t) data;
  gnutls_session_t s;
  unsigned char *buf = malloc (64 * 1024);
  int r;

  gnutls_init (&s, GNUTLS_SERVER);
  if (gnutls_priority_set_direct (s, BENCH_TLS_PRIORITY, NULL) < 0)
    BENCH_DIE ("GnuTLS priority %s refused", BENCH_TLS_PRIORITY);
  gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE, tls_creds);
  gnutls_transport_set_int (s, fd);
  gnutls_handshake_set_timeout (s, 30000);
  do
    r = gnutls_handshake (s);
  while (r < 0 && !gnutls_error_is_fatal (r));
  while (r >= 0)
    {
      ssize_t n;
      do
        n = gnutls_record_recv (s, buf, 64 * 1024);
      while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
      if (n <= 0)
        break;
      for (ssize_t done = 0; done < n;)
        {
          ssize_t w;
          do
            w = gnutls_record_send (s, buf + done, n - done);
          while (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED);
          if (w <= 0)
            {
              r = -1;
              break;
            }
          done += w;
        }
    }
  if (r >= 0)
    gnutls_bye (s, GNUTLS_SHUT_WR);
  gnutls_deinit (s);
  close (fd);
  free (buf);
  return NULL;
}

static void *
tls_accept_main (void *data)
{
  int lfd = (int) (intptr_t) data;
  pthread_attr_t attr;

  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize (&attr, 256 * 1024);
  for (;;)
    {
      int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
            {
              if (errno != EINTR && errno != ECONNABORTED)
                usleep (10000);
              continue;
            }
          BENCH_DIE ("tls-echo accept: %s", strerror (errno));
        }
      int one = 1;
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      struct timeval tv = { .tv_sec = 900 };
      setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      pthread_t t;
      if (pthread_create (&t, &attr, tls_conn_main, (void *) (intptr_t) fd) != 0)
        close (fd);
    }
  return NULL;
}

static int
tls_listen (const char *cert, const char *key)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1, r;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
  socklen_t len = sizeof sa;
  pthread_t t;

  gnutls_certificate_allocate_credentials (&tls_creds);
  r = gnutls_certificate_set_x509_key_file (tls_creds, cert, key, GNUTLS_X509_FMT_PEM);
  if (r < 0)
    BENCH_DIE ("tls-echo: %s / %s: %s", cert, key, gnutls_strerror (r));
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 4096) < 0)
    BENCH_DIE ("bind/listen: %s", strerror (errno));
  getsockname (fd, (struct sockaddr *) &sa, &len);
  pthread_create (&t, NULL, tls_accept_main, (void *) (intptr_t) fd);
  return ntohs (sa.sin_port);
}

int
main (int argc, char **argv)
{
  double max_seconds = 900;
  const char *tls_cert = NULL, *tls_key = NULL;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--source-bytes") == 0 && i + 1 < argc)
        source_bytes = strtoull (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--max-seconds") == 0 && i + 1 < argc)
        max_seconds = atof (argv[++i]);
      else if (strcmp (argv[i], "--tls-cert") == 0 && i + 1 < argc)
        tls_cert = argv[++i];
      else if (strcmp (argv[i], "--tls-key") == 0 && i + 1 < argc)
        tls_key = argv[++i];
      else
        BENCH_DIE ("usage: %s [--source-bytes N] [--max-seconds S] [--tls-cert F --tls-key F]", argv[0]);
    }
  bench_pattern_init ();
  bench_raise_nofile ();
  signal (SIGPIPE, SIG_IGN);
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  epfd = epoll_create1 (EPOLL_CLOEXEC);

  Conn *l[3];
  int pe = listen_on (KIND_ECHO, &l[0]);
  int ps = listen_on (KIND_SINK, &l[1]);
  int pso = listen_on (KIND_SOURCE, &l[2]);
  Conn *in = calloc (1, sizeof *in);
  in->fd = 0;
  in->kind = KIND_STDIN;
  struct epoll_event e = { .events = EPOLLIN, .data.ptr = in };
  epoll_ctl (epfd, EPOLL_CTL_ADD, 0, &e);
  printf ("echo %d\nsink %d\nsource %d\n", pe, ps, pso);
  if (tls_cert != NULL && tls_key != NULL)
    printf ("tls-echo %d\n", tls_listen (tls_cert, tls_key));
  printf ("ready\n");
  fflush (stdout);

  double deadline = bench_now () + max_seconds;
  struct epoll_event evs[256];
  while (!stop && bench_now () < deadline)
    {
      int n = epoll_wait (epfd, evs, 256, 500);
      for (int i = 0; i < n; i++)
        {
          Conn *c = evs[i].data.ptr;
          if (handle (c, evs[i].events) < 0)
            conn_close (c);
        }
    }
  return 0;
}
