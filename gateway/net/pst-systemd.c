/* pst-systemd.c: the service manager's side channels: sd_notify and socket activation
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "pst-runtime.h"
#include "pst-systemd.h"

/* Written against the documented protocol (sd_notify(3), "Notes"), not
 * libsystemd: one datagram of newline-separated VAR=VALUE lines to the
 * AF_UNIX socket in $NOTIFY_SOCKET; a leading '@' means the abstract
 * namespace (the '@' becomes a NUL byte). */
gboolean
pst_systemd_notify (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize path_len;
  socklen_t addr_len;
  ssize_t sent;
  int fd;

  if (path == NULL || state == NULL)
    return FALSE;
  path_len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') || path_len < 2 || path_len > sizeof addr.sun_path)
    {
      g_debug ("NOTIFY_SOCKET=%s: not an AF_UNIX socket path; not notifying", path);
      return FALSE;
    }
  memcpy (addr.sun_path, path, path_len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  /* A path is NUL-terminated when there is room; an abstract name is
   * exactly its bytes. */
  addr_len = offsetof (struct sockaddr_un, sun_path) + path_len + (path[0] == '/' && path_len < sizeof addr.sun_path);
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &addr, addr_len);
  if (sent < 0)
    g_debug ("NOTIFY_SOCKET=%s: %s", path, g_strerror (errno));
  close (fd);
  return sent == (ssize_t) strlen (state);
}

gboolean
pst_systemd_notifyf (const char *format, ...)
{
  va_list args;
  g_autofree char *state = NULL;

  va_start (args, format);
  state = g_strdup_vprintf (format, args);
  va_end (args);
  return pst_systemd_notify (state);
}

#define LISTEN_FDS_START 3

GPtrArray *
pst_systemd_take_listen_sockets (GError **error)
{
  const char *pid_text = g_getenv ("LISTEN_PID");
  const char *fds_text = g_getenv ("LISTEN_FDS");
  g_auto(GStrv) names = NULL;
  guint64 pid = 0, n = 0;

  if (pid_text == NULL || fds_text == NULL)
    return g_ptr_array_new_with_free_func (g_object_unref);
  /* Meant for another process (a parent that did not clear them). */
  if (!g_ascii_string_to_unsigned (pid_text, 10, 1, G_MAXINT, &pid, NULL) || pid != (guint64) getpid ())
    return g_ptr_array_new_with_free_func (g_object_unref);
  if (!g_ascii_string_to_unsigned (fds_text, 10, 0, 4096, &n, NULL))
    {
      g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                   _("LISTEN_FDS=%s is not a number of descriptors (check the .socket unit)"), fds_text);
      return NULL;
    }
  if (g_getenv ("LISTEN_FDNAMES") != NULL)
    names = g_strsplit (g_getenv ("LISTEN_FDNAMES"), ":", -1);
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  return pst_systemd_adopt_listen_fds (LISTEN_FDS_START, (guint) n, (const char *const *) names, error);
}

GPtrArray *
pst_systemd_adopt_listen_fds (int first, guint n, const char *const *names, GError **error)
{
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);

  for (int fd = first; fd < first + (int) n; fd++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GSocket) socket = NULL;
      int type = 0, listening = 0;
      socklen_t len = sizeof type;
      const char *name = names != NULL && g_strv_length ((GStrv) names) > (guint) (fd - first)
                         ? names[fd - first] : NULL;

      fcntl (fd, F_SETFD, FD_CLOEXEC);
      if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
          (len = sizeof listening, getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)) != 0 ||
          !listening)
        {
          g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                       _("inherited descriptor %d%s%s%s is not a listening TCP socket: the gateway "
                         "takes only ListenStream= sockets (fix the .socket unit)"),
                       fd, name ? " (" : "", name ? name : "", name ? ")" : "");
          return NULL;
        }
      socket = g_socket_new_from_fd (fd, &local_error);
      if (socket == NULL)
        {
          g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                       _("inherited descriptor %d: %s"), fd, local_error->message);
          return NULL;
        }
      if (name != NULL && *name != '\0')
        g_object_set_data_full (G_OBJECT (socket), "pst-fd-name", g_strdup (name), g_free);
      g_ptr_array_add (sockets, g_steal_pointer (&socket));
    }
  return g_steal_pointer (&sockets);
}

char *
pst_systemd_describe_socket (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autofree char *where = local ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (local)) : g_strdup ("?");
  const char *name = g_object_get_data (G_OBJECT (socket), "pst-fd-name");

  if (name != NULL)
    return g_strdup_printf ("fd %d (%s) on %s", g_socket_get_fd (socket), name, where);
  return g_strdup_printf ("fd %d on %s", g_socket_get_fd (socket), where);
}
