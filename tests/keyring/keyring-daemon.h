/* keyring-daemon.h: a scratch gnome-keyring-daemon on the test's session bus
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

static inline gboolean
keyring_daemon_owns_name (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", "org.freedesktop.secrets"),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* Starts gnome-keyring-daemon (secrets only) with HOME=home and
 * XDG_RUNTIME_DIR=home/runtime, unlocked with `unlock`.  data_home:
 * XDG_DATA_HOME (made), or NULL to leave it unset (the keyring then lives
 * under home/.local/share).  Returns once the daemon owns
 * org.freedesktop.secrets; fails the test after wait_ms. */
static inline GSubprocess *
keyring_daemon_start (const char *home, const char *data_home, const char *unlock, guint wait_ms)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *runtime = g_build_filename (home, "runtime", NULL);
  gint64 end = g_get_monotonic_time () + wait_ms * G_TIME_SPAN_MILLISECOND;
  GSubprocess *daemon;
  GOutputStream *in;

  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  if (data_home != NULL)
    {
      g_assert_cmpint (g_mkdir_with_parents (data_home, 0700), ==, 0);
      g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data_home, TRUE);
    }
  else
    g_subprocess_launcher_unsetenv (launcher, "XDG_DATA_HOME");
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  daemon = g_subprocess_launcher_spawn (launcher, &error, "gnome-keyring-daemon", "--foreground",
                                        "--unlock", "--components=secrets", NULL);
  g_assert_no_error (error);
  in = g_subprocess_get_stdin_pipe (daemon);
  g_output_stream_write_all (in, unlock, strlen (unlock), NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (in, NULL, &error);
  g_assert_no_error (error);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  while (!keyring_daemon_owns_name (bus))
    {
      if (g_get_monotonic_time () > end)
        g_error ("gnome-keyring-daemon did not own org.freedesktop.secrets within %u ms", wait_ms);
      g_usleep (50 * 1000);
    }
  return daemon;
}
