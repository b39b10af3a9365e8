/* pst-prefix-stream.c: an input that first returns bytes already read, then its base stream's
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-prefix-stream.h"

struct _PstPrefixStream
{
  GFilterInputStream  parent_instance;
  GBytes             *prefix;
  gsize               offset;   /* of the prefix bytes already returned */
};

static void pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PstPrefixStream, pst_prefix_stream, G_TYPE_FILTER_INPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, pollable_iface_init))

static gsize
prefix_left (PstPrefixStream *self)
{
  return self->prefix != NULL ? g_bytes_get_size (self->prefix) - self->offset : 0;
}

static gssize
take_prefix (PstPrefixStream *self,
             void            *buffer,
             gsize            count)
{
  gsize len = MIN (count, prefix_left (self));

  memcpy (buffer, (const guint8 *) g_bytes_get_data (self->prefix, NULL) + self->offset, len);
  self->offset += len;
  if (prefix_left (self) == 0)
    g_clear_pointer (&self->prefix, g_bytes_unref);
  return len;
}

static gssize
read_fn (GInputStream  *stream,
         void          *buffer,
         gsize          count,
         GCancellable  *cancellable,
         GError       **error)
{
  PstPrefixStream *self = PST_PREFIX_STREAM (stream);

  if (prefix_left (self) > 0 && count > 0)
    return take_prefix (self, buffer, count);
  return g_input_stream_read (g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream)),
                              buffer, count, cancellable, error);
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

  return prefix_left (PST_PREFIX_STREAM (stream)) > 0 ||
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (base));
}

static GSource *
create_source (GPollableInputStream *stream,
               GCancellable         *cancellable)
{
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  g_autoptr(GSource) child = NULL;

  /* bytes in hand: readable now */
  if (prefix_left (PST_PREFIX_STREAM (stream)) > 0)
    child = g_timeout_source_new (0);
  else
    child = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (base), NULL);
  return g_pollable_source_new_full (stream, child, cancellable);
}

static gssize
read_nonblocking (GPollableInputStream  *stream,
                  void                  *buffer,
                  gsize                  count,
                  GError               **error)
{
  PstPrefixStream *self = PST_PREFIX_STREAM (stream);
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));

  if (prefix_left (self) > 0 && count > 0)
    return take_prefix (self, buffer, count);
  return g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (base), buffer, count,
                                                   NULL, error);
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
pst_prefix_stream_finalize (GObject *object)
{
  PstPrefixStream *self = PST_PREFIX_STREAM (object);

  g_clear_pointer (&self->prefix, g_bytes_unref);
  G_OBJECT_CLASS (pst_prefix_stream_parent_class)->finalize (object);
}

static void
pst_prefix_stream_class_init (PstPrefixStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_prefix_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = read_fn;
}

static void
pst_prefix_stream_init (PstPrefixStream *self)
{
}

GIOStream *
pst_prefix_stream_wrap (GIOStream *base,
                        GBytes    *prefix)
{
  g_autoptr(PstPrefixStream) in = NULL;
  GIOStream *joined;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  in = g_object_new (PST_TYPE_PREFIX_STREAM, "base-stream", g_io_stream_get_input_stream (base),
                     "close-base-stream", FALSE, NULL);
  if (prefix != NULL && g_bytes_get_size (prefix) > 0)
    in->prefix = g_bytes_ref (prefix);
  joined = g_simple_io_stream_new (G_INPUT_STREAM (in), g_io_stream_get_output_stream (base));
  /* A GIOStream's own streams do not keep it alive, and it closes itself
   * when finalized: the joined stream holds it. */
  g_object_set_data_full (G_OBJECT (joined), "pst-base-stream", g_object_ref (base), g_object_unref);
  return joined;
}
