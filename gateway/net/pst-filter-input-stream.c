/* pst-filter-input-stream.c: the base of our input filters: pollable through its base, joined with the base's output
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-filter-input-stream.h"

static void pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (PstFilterInputStream, pst_filter_input_stream, G_TYPE_FILTER_INPUT_STREAM,
                                  G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, pollable_iface_init))

/* The base stream as a pollable input (only valid when can_poll said so). */
GPollableInputStream *
pst_filter_input_stream_get_pollable_base (PstFilterInputStream *self)
{
  return G_POLLABLE_INPUT_STREAM (g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (self)));
}

static gboolean
has_pending (PstFilterInputStream *self)
{
  PstFilterInputStreamClass *klass = PST_FILTER_INPUT_STREAM_GET_CLASS (self);

  return klass->has_pending != NULL && klass->has_pending (self);
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
  PstFilterInputStream *self = PST_FILTER_INPUT_STREAM (stream);

  return has_pending (self) ||
         g_pollable_input_stream_is_readable (pst_filter_input_stream_get_pollable_base (self));
}

static GSource *
create_source (GPollableInputStream *stream,
               GCancellable         *cancellable)
{
  PstFilterInputStream *self = PST_FILTER_INPUT_STREAM (stream);
  g_autoptr(GSource) child = NULL;

  /* bytes in hand: readable now */
  if (has_pending (self))
    child = g_timeout_source_new (0);
  else
    child = g_pollable_input_stream_create_source (pst_filter_input_stream_get_pollable_base (self), NULL);
  return g_pollable_source_new_full (stream, child, cancellable);
}

static gssize
read_nonblocking (GPollableInputStream  *stream,
                  void                  *buffer,
                  gsize                  count,
                  GError               **error)
{
  PstFilterInputStream *self = PST_FILTER_INPUT_STREAM (stream);

  return PST_FILTER_INPUT_STREAM_GET_CLASS (self)->read_nonblocking (self, buffer, count, error);
}

static void
pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = can_poll;
  iface->is_readable = is_readable;
  iface->create_source = create_source;
  iface->read_nonblocking = read_nonblocking;
}

static gssize
real_read_nonblocking (PstFilterInputStream  *self,
                       void                  *buffer,
                       gsize                  count,
                       GError               **error)
{
  return g_pollable_input_stream_read_nonblocking (pst_filter_input_stream_get_pollable_base (self),
                                                   buffer, count, NULL, error);
}

static void
pst_filter_input_stream_class_init (PstFilterInputStreamClass *klass)
{
  klass->read_nonblocking = real_read_nonblocking;
}

static void
pst_filter_input_stream_init (PstFilterInputStream *self)
{
}

GIOStream *
pst_filter_input_stream_join (PstFilterInputStream *self,
                              GIOStream            *base)
{
  GIOStream *joined;

  g_return_val_if_fail (PST_IS_FILTER_INPUT_STREAM (self), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  joined = g_simple_io_stream_new (G_INPUT_STREAM (self), g_io_stream_get_output_stream (base));
  /* A GIOStream's own streams do not keep it alive, and it closes itself
   * when finalized: the joined stream holds it. */
  g_object_set_data_full (G_OBJECT (joined), "pst-base-stream", g_object_ref (base), g_object_unref);
  return joined;
}
