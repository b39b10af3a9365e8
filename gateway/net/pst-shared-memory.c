/* pst-shared-memory.c: memory a master shares with its workers (a memfd, mapped)
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* memfd_create */
#endif
#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pst-shared-memory.h"

int
pst_shared_memory_new (const char *name, gsize size)
{
  int fd = memfd_create (name, MFD_CLOEXEC);

  if (fd >= 0 && ftruncate (fd, size) != 0)
    {
      int saved = errno;

      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

void *
pst_shared_memory_map (int fd, gsize size)
{
  void *mem = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

  return mem == MAP_FAILED ? NULL : mem;
}
