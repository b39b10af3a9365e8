/* pst-prefix-stream.c: an input that first returns bytes already read, then its base stream's
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-prefix-stream.h"

struct _PstPrefixStream
{
  PstFilterInputStream parent_instance;
  GBytes             *prefix;
  gsize               offset;   /* of the prefix bytes already returned */
};

G_DEFINE_TYPE (PstPrefixStream, pst_prefix_stream, PST_TYPE_FILTER_INPUT_STREAM)

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
has_pending (PstFilterInputStream *stream)
{
  return prefix_left (PST_PREFIX_STREAM (stream)) > 0;
}

static gssize
read_nonblocking (PstFilterInputStream  *stream,
                  void                  *buffer,
                  gsize                  count,
                  GError               **error)
{
  PstPrefixStream *self = PST_PREFIX_STREAM (stream);

  if (prefix_left (self) > 0 && count > 0)
    return take_prefix (self, buffer, count);
  return g_pollable_input_stream_read_nonblocking (pst_filter_input_stream_get_pollable_base (stream),
                                                   buffer, count, NULL, error);
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
  PST_FILTER_INPUT_STREAM_CLASS (klass)->has_pending = has_pending;
  PST_FILTER_INPUT_STREAM_CLASS (klass)->read_nonblocking = read_nonblocking;
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

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  in = g_object_new (PST_TYPE_PREFIX_STREAM, "base-stream", g_io_stream_get_input_stream (base),
                     "close-base-stream", FALSE, NULL);
  if (prefix != NULL && g_bytes_get_size (prefix) > 0)
    in->prefix = g_bytes_ref (prefix);
  return pst_filter_input_stream_join (PST_FILTER_INPUT_STREAM (in), base);
}
