/* pst-head-limit-stream.c: caps the size of an HTTP request head before SoupServer buffers it
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-head-limit-stream.h"

struct _PstHeadLimitStream
{
  GFilterInputStream  parent_instance;
  GOutputStream      *out;
  gsize               limit;
  gsize               count;
  gboolean            armed;
  gboolean            refused;
  void              (*first_byte) (gpointer data);
  gpointer            first_byte_data;
  void              (*eof) (gpointer data);
  gpointer            eof_data;
};

static void pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PstHeadLimitStream, pst_head_limit_stream, G_TYPE_FILTER_INPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, pollable_iface_init))

static const char refusal[] =
  "HTTP/1.1 431 Request Header Fields Too Large\r\n"
  "Connection: close\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n\r\n"
  "Request header fields too large\n";

static gssize
account (PstHeadLimitStream *self, gssize n, GError **error)
{
  if (n == 0 && self->armed && self->eof != NULL)
    self->eof (self->eof_data);
  if (n <= 0 || !self->armed)
    return n;
  if (self->count == 0 && self->first_byte != NULL)
    self->first_byte (self->first_byte_data);
  self->count += n;
  if (self->count <= self->limit)
    return n;
  if (!self->refused)
    {
      self->refused = TRUE;
      /* Best effort: the answer is small enough for any socket buffer. */
      if (G_IS_POLLABLE_OUTPUT_STREAM (self->out))
        g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->out),
                                                    refusal, sizeof refusal - 1, NULL, NULL);
      g_message ("request head over %" G_GSIZE_FORMAT " bytes: answered 431 and closed", self->limit);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "request head too large");
  return -1;
}

static gssize
read_fn (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  PstHeadLimitStream *self = PST_HEAD_LIMIT_STREAM (stream);
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));

  if (self->refused)
    return account (self, 1, error);
  return account (self, g_input_stream_read (base, buffer, count, cancellable, error), error);
}

static gboolean
can_poll (GPollableInputStream *stream)
{
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  return G_IS_POLLABLE_INPUT_STREAM (base) && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (base));
}

static gboolean
is_readable (GPollableInputStream *stream)
{
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (base));
}

static GSource *
create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  g_autoptr(GSource) base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (base), NULL);

  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gssize
read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  PstHeadLimitStream *self = PST_HEAD_LIMIT_STREAM (stream);
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));

  if (self->refused)
    return account (self, 1, error);
  return account (self, g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (base),
                                                                  buffer, count, NULL, error), error);
}

static void
pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = can_poll;
  iface->is_readable = is_readable;
  iface->create_source = create_source;
  iface->read_nonblocking = read_nonblocking;
}

static void
pst_head_limit_stream_finalize (GObject *object)
{
  PstHeadLimitStream *self = PST_HEAD_LIMIT_STREAM (object);

  g_clear_object (&self->out);
  G_OBJECT_CLASS (pst_head_limit_stream_parent_class)->finalize (object);
}

static void
pst_head_limit_stream_class_init (PstHeadLimitStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_head_limit_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = read_fn;
}

static void
pst_head_limit_stream_init (PstHeadLimitStream *self)
{
  self->armed = TRUE;
}

GInputStream *
pst_head_limit_stream_new (GInputStream *base, GOutputStream *out, gsize limit)
{
  PstHeadLimitStream *self = g_object_new (PST_TYPE_HEAD_LIMIT_STREAM, "base-stream", base, NULL);

  self->out = g_object_ref (out);
  self->limit = limit;
  return G_INPUT_STREAM (self);
}

void
pst_head_limit_stream_disarm (PstHeadLimitStream *self)
{
  self->armed = FALSE;
}

void
pst_head_limit_stream_arm (PstHeadLimitStream *self)
{
  self->armed = TRUE;
  self->count = 0;
}

void
pst_head_limit_stream_set_first_byte_func (PstHeadLimitStream *self, void (*func) (gpointer), gpointer data)
{
  self->first_byte = func;
  self->first_byte_data = data;
}

void
pst_head_limit_stream_set_eof_func (PstHeadLimitStream *self, void (*func) (gpointer), gpointer data)
{
  self->eof = func;
  self->eof_data = data;
}

GIOStream *
pst_head_limit_wrap (GIOStream *base, gsize limit, PstHeadLimitStream **out_limit)
{
  g_autoptr(GInputStream) in = pst_head_limit_stream_new (g_io_stream_get_input_stream (base),
                                                          g_io_stream_get_output_stream (base), limit);
  GIOStream *joined = g_simple_io_stream_new (in, g_io_stream_get_output_stream (base));

  /* A GIOStream's own streams do not keep it alive, and it closes itself
   * when finalized: the joined stream holds it. */
  g_object_set_data_full (G_OBJECT (joined), "pst-base-stream", g_object_ref (base), g_object_unref);
  if (out_limit != NULL)
    *out_limit = PST_HEAD_LIMIT_STREAM (in);
  return joined;
}
