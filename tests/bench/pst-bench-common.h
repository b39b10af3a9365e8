/* pst-bench-common.h: what the benchmark's back-end and client agree on.
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* The byte at stream offset o is bench_pattern[o % BENCH_PERIOD]: the
 * client checks every byte it gets back, so a lost, duplicated or
 * reordered byte is caught without hashing on the hot path. */
#define BENCH_PERIOD (64 * 1024)
/* The sink back-end answers one byte per BENCH_ACK_UNIT it has received. */
#define BENCH_ACK_UNIT (1024 * 1024)

static unsigned char bench_pattern[BENCH_PERIOD];

static inline void
bench_pattern_init (void)
{
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < BENCH_PERIOD; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bench_pattern[i] = (unsigned char) (x >> 24);
    }
}

static inline double
bench_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void
bench_raise_nofile (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* The TLS both ends of the benchmark speak (client and TLS back-end), so
 * that every gateway negotiates the same thing on both hops: TLS 1.3,
 * AES-128-GCM, X25519 (certificates: ECDSA P-256). */
#define BENCH_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519"

#define BENCH_DIE(...) do { fprintf (stderr, __VA_ARGS__); fputc ('\n', stderr); exit (2); } while (0)
