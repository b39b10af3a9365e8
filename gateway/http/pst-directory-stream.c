/* pst-directory-stream.c: streaming a large file as a response body, a few chunks at a time
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <gio/gunixinputstream.h>

#include "pst-directory-private.h"

/* How many chunks may wait in libsoup's queue: one being written, one ready. */
#define MAX_QUEUED 2

/* libsoup 3.2 has no stream body for SoupServerMessage: the response body is
 * fed chunk by chunk (accumulate off, so written chunks are dropped) and the
 * message is unpaused after each append; libsoup pauses it by itself when it
 * runs out.  Reads go through GUnixInputStream, whose async reads on a
 * regular file run in GIO's thread pool, so the main loop never waits on
 * the disk.  Memory stays at MAX_QUEUED + 1 chunks whatever the file size;
 * a slow client slows the reads down (the next read starts on ::wrote-chunk). */
typedef struct {
  SoupServerMessage *msg;
  GInputStream      *input;
  GCancellable      *cancellable;
  goffset            to_read;     /* bytes still to read from the file */
  guint              queued;      /* chunks appended, not yet written */
  gboolean           reading;
  gboolean           done;        /* message finished or aborted */
  gulong             wrote_chunk_id;
  gulong             finished_id;
} Stream;

static void start_read (Stream *s);

static void
stream_free (Stream *s)
{
  g_clear_object (&s->input);
  g_clear_object (&s->cancellable);
  g_clear_object (&s->msg);
  g_free (s);
}

static void
stream_detach (Stream *s)
{
  s->done = TRUE;
  g_cancellable_cancel (s->cancellable);
  g_clear_signal_handler (&s->wrote_chunk_id, s->msg);
  g_clear_signal_handler (&s->finished_id, s->msg);
  if (!s->reading)
    stream_free (s);
}

static void
close_stolen_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

/* The file changed size or could not be read: the promised Content-Length
 * cannot be met, and a short body must not look complete, so the
 * connection is dropped. */
static void
stream_abort (Stream *s)
{
  g_autoptr(SoupServerMessage) msg = g_object_ref (s->msg);
  GIOStream *conn;

  stream_detach (s);
  /* stealing emits no ::finished; after it the message is ours to drop */
  conn = soup_server_message_steal_connection (msg);
  if (conn != NULL)
    {
      g_io_stream_close_async (conn, G_PRIORITY_DEFAULT, NULL, close_stolen_cb, NULL);
      g_object_unref (conn);
    }
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Stream *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  s->reading = FALSE;
  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (s->done)
    {
      stream_free (s);
      return;
    }
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      g_warning ("directory: reading a file for %s failed: %s",
                 g_uri_get_path (soup_server_message_get_uri (s->msg)),
                 error != NULL ? error->message : "it is shorter than when the response started");
      stream_abort (s);
      return;
    }

  s->to_read -= g_bytes_get_size (bytes);
  s->queued++;
  soup_message_body_append_bytes (soup_server_message_get_response_body (s->msg), bytes);
  soup_server_message_unpause (s->msg);
  if (s->queued < MAX_QUEUED)
    start_read (s);
}

static void
start_read (Stream *s)
{
  if (s->done || s->reading || s->to_read <= 0)
    return;
  s->reading = TRUE;
  g_input_stream_read_bytes_async (s->input, MIN (s->to_read, PST_DIRECTORY_CHUNK),
                                   G_PRIORITY_DEFAULT, s->cancellable, read_cb, s);
}

static void
wrote_chunk_cb (SoupServerMessage *msg,
                gpointer           user_data)
{
  Stream *s = user_data;

  if (s->queued > 0)
    s->queued--;
  start_read (s);
}

static void
finished_cb (SoupServerMessage *msg,
             gpointer           user_data)
{
  stream_detach (user_data);
}

void
pst_directory_stream_file (SoupServerMessage *msg,
                           int                fd,
                           goffset            size)
{
  Stream *s = g_new0 (Stream, 1);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  s->msg = g_object_ref (msg);
  s->input = g_unix_input_stream_new (fd, TRUE);
  s->cancellable = g_cancellable_new ();
  s->to_read = size;

  soup_message_body_set_accumulate (body, FALSE);
  soup_message_headers_set_encoding (soup_server_message_get_response_headers (msg),
                                     SOUP_ENCODING_CONTENT_LENGTH);
  soup_message_headers_set_content_length (soup_server_message_get_response_headers (msg), size);

  s->wrote_chunk_id = g_signal_connect (msg, "wrote-chunk", G_CALLBACK (wrote_chunk_cb), s);
  s->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (finished_cb), s);

  soup_server_message_pause (msg);
  start_read (s);
}
