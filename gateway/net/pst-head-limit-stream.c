/* pst-head-limit-stream.c: caps the size of an HTTP request head before SoupServer buffers it
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-head-limit-stream.h"

struct _PstHeadLimitStream
{
  PstFilterInputStream parent_instance;
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

G_DEFINE_TYPE (PstHeadLimitStream, pst_head_limit_stream, PST_TYPE_FILTER_INPUT_STREAM)

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

static gssize
read_nonblocking (PstFilterInputStream *stream, void *buffer, gsize count, GError **error)
{
  PstHeadLimitStream *self = PST_HEAD_LIMIT_STREAM (stream);

  if (self->refused)
    return account (self, 1, error);
  return account (self, g_pollable_input_stream_read_nonblocking (pst_filter_input_stream_get_pollable_base (stream),
                                                                  buffer, count, NULL, error), error);
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
  PST_FILTER_INPUT_STREAM_CLASS (klass)->read_nonblocking = read_nonblocking;
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
  GIOStream *joined = pst_filter_input_stream_join (PST_FILTER_INPUT_STREAM (in), base);

  if (out_limit != NULL)
    *out_limit = PST_HEAD_LIMIT_STREAM (in);
  return joined;
}
