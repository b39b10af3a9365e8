/* test-shared-memory.c: the sealed memfd a master hands its workers the validated configuration in
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* memfd_create */
#endif
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <gio/gio.h>

#include "pst-shared-memory.h"

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static ("<gateway-config/>\n", 18);
  g_autoptr(GBytes) out = NULL;
  int fd = pst_shared_memory_new_sealed ("postern-test", in, &error);

  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  out = pst_shared_memory_read_sealed (fd, 1024, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (in, out));
  /* NUL-terminated past its length, as text readers expect */
  g_assert_cmpint (((const char *) g_bytes_get_data (out, NULL))[18], ==, 0);
  /* Sealed: the master's copy cannot change under a worker. */
  g_assert_cmpint (write (fd, "x", 1), <, 0);
  g_assert_cmpint (ftruncate (fd, 1), <, 0);
  g_assert_true (mmap (NULL, 18, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
  /* Read again (a second worker): the same bytes. */
  g_clear_pointer (&out, g_bytes_unref);
  out = pst_shared_memory_read_sealed (fd, 1024, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (in, out));
  close (fd);
}

static void
test_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) out = NULL;
  int fd = pst_shared_memory_new_sealed ("postern-test", in, &error);

  g_assert_no_error (error);
  out = pst_shared_memory_read_sealed (fd, 1024, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (out), ==, 0);
  close (fd);
}

static void
test_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static ("0123456789", 10);
  g_autoptr(GBytes) out = NULL;
  int fd = pst_shared_memory_new_sealed ("postern-test", in, &error);
  int plain = memfd_create ("postern-test-unsealed", MFD_CLOEXEC);

  g_assert_no_error (error);
  /* Larger than the reader allows */
  out = pst_shared_memory_read_sealed (fd, 9, &error);
  g_assert_null (out);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  /* Not sealed (anyone could change it while it is read) */
  g_assert_cmpint (plain, >=, 0);
  g_assert_cmpint (write (plain, "abc", 3), ==, 3);
  out = pst_shared_memory_read_sealed (plain, 1024, &error);
  g_assert_null (out);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "postern run"));
  g_clear_error (&error);
  /* Not a memfd at all */
  out = pst_shared_memory_read_sealed (STDIN_FILENO, 1024, &error);
  g_assert_null (out);
  g_assert_nonnull (error);
  close (plain);
  close (fd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/shared-memory/sealed/round-trip", test_round_trip);
  g_test_add_func ("/shared-memory/sealed/empty", test_empty);
  g_test_add_func ("/shared-memory/sealed/refused", test_refused);
  return g_test_run ();
}
