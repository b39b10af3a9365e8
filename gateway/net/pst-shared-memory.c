/* pst-shared-memory.c: memory a master shares with its workers (a memfd, mapped)
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* memfd_create */
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <gio/gio.h>

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

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

int
pst_shared_memory_new_sealed (const char *name, GBytes *bytes, GError **error)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  int fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  gsize done = 0;

  if (fd < 0)
    goto fail;
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        goto fail;
      done += (gsize) n;
    }
  if (fcntl (fd, F_ADD_SEALS, SEALS) != 0)
    goto fail;
  return fd;

fail:
  {
    int saved = errno;

    if (fd >= 0)
      close (fd);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 _("Could not keep a copy of %s for the workers: %s"), name, g_strerror (saved));
    return -1;
  }
}

GBytes *
pst_shared_memory_read_sealed (int fd, gsize max, GError **error)
{
  struct stat st;
  int seals = fcntl (fd, F_GET_SEALS);
  g_autofree guint8 *data = NULL;
  gsize done = 0;

  if (seals < 0 || (seals & SEALS) != SEALS || fstat (fd, &st) != 0 || st.st_size < 0 ||
      (guint64) st.st_size > max)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("Descriptor %d is not the sealed copy a postern master hands its workers "
                     "(a worker is started by “postern run”)"), fd);
      return NULL;
    }
  data = g_malloc ((gsize) st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      ssize_t n = pread (fd, data + done, (gsize) st.st_size - done, (off_t) done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("Could not read the master's sealed copy (descriptor %d): %s"), fd,
                       n < 0 ? g_strerror (errno) : _("it ended early"));
          return NULL;
        }
      done += (gsize) n;
    }
  data[done] = 0;   /* text: NUL-terminated as g_file_get_contents () would */
  return g_bytes_new_take (g_steal_pointer (&data), done);
}
