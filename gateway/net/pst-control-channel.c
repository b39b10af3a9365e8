/* pst-control-channel.c: the line socket between a master and one of its workers, both ends
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include "pst-control-channel.h"

struct _PstControlChannel
{
  int                fd;
  guint              watch;
  gboolean           stopped;
  gboolean           overlong;   /* dropping the rest of a line that was too long */
  gsize              max_line;
  GString           *input;
  PstControlLineFunc func;
  gpointer           user_data;
};

gboolean
pst_control_channel_make_pair (int *ours, int *theirs, GError **error)
{
  int pair[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot make a control socket for a worker: %s"), g_strerror (saved));
      return FALSE;
    }
  *ours = pair[0];
  *theirs = pair[1];
  return TRUE;
}

void
pst_control_channel_feed (PstControlChannel *self, const char *bytes, gsize len)
{
  while (len > 0 && !self->stopped)
    {
      const char *nl = memchr (bytes, '\n', len);
      gsize take = nl != NULL ? (gsize) (nl - bytes) : len;

      if (!self->overlong)
        {
          if (self->input->len + take > self->max_line)
            {
              self->overlong = TRUE;
              g_string_truncate (self->input, 0);
            }
          else
            g_string_append_len (self->input, bytes, take);
        }
      if (nl == NULL)
        return;
      bytes += take + 1;
      len -= take + 1;
      if (self->overlong)
        self->overlong = FALSE;   /* the line ends here: dropped whole */
      else
        {
          g_autofree char *line = g_strndup (self->input->str, self->input->len);

          g_string_truncate (self->input, 0);
          self->func (line, self->user_data);
        }
    }
}

static gboolean
readable_cb (int fd, GIOCondition condition, gpointer user_data)
{
  PstControlChannel *self = user_data;
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      self->watch = 0;
      self->stopped = TRUE;
      self->func (NULL, self->user_data);
      return G_SOURCE_REMOVE;
    }
  pst_control_channel_feed (self, buf, (gsize) n);
  if (self->stopped)
    {
      self->watch = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/**
 * pst_control_channel_new:
 *
 * Returns: (transfer full) (nullable): the channel; NULL with @error when
 *   @fd cannot be made non-blocking (@fd is closed then)
 */
PstControlChannel *
pst_control_channel_new (int fd, gsize max_line, PstControlLineFunc func, gpointer user_data, GError **error)
{
  PstControlChannel *self;

  g_return_val_if_fail (fd >= -1 && func != NULL, NULL);
  if (fd >= 0)
    {
      fcntl (fd, F_SETFD, FD_CLOEXEC);
      if (!g_unix_set_fd_nonblocking (fd, TRUE, error))
        {
          close (fd);
          return NULL;
        }
    }
  self = g_new0 (PstControlChannel, 1);
  self->fd = fd;
  self->max_line = MAX (max_line, 1);
  self->input = g_string_new (NULL);
  self->func = func;
  self->user_data = user_data;
  if (fd >= 0)
    self->watch = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable_cb, self);
  return self;
}

void
pst_control_channel_stop (PstControlChannel *self)
{
  self->stopped = TRUE;
  g_clear_handle_id (&self->watch, g_source_remove);
}

void
pst_control_channel_free (PstControlChannel *self)
{
  if (self == NULL)
    return;
  pst_control_channel_stop (self);
  if (self->fd >= 0)
    close (self->fd);
  g_string_free (self->input, TRUE);
  g_free (self);
}

gboolean
pst_control_channel_send (PstControlChannel *self, const char *line)
{
  g_autofree char *text = NULL;
  gsize len;
  ssize_t n;

  if (self->fd < 0)
    return FALSE;
  text = g_strdup_printf ("%s\n", line);
  len = strlen (text);
  /* Short lines into an almost empty socket: a full buffer means a peer
   * that is stuck, and the line is dropped rather than block. */
  do
    n = send (self->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t) len)
    {
      g_debug ("control line \"%s\" not sent: %s", line, n < 0 ? g_strerror (errno) : "short write");
      return FALSE;
    }
  return TRUE;
}
