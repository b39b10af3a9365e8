/* pst-filter-input-stream.h: the base of our input filters: pollable through its base, joined with the base's output
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PST_TYPE_FILTER_INPUT_STREAM (pst_filter_input_stream_get_type ())
G_DECLARE_DERIVABLE_TYPE (PstFilterInputStream, pst_filter_input_stream, PST, FILTER_INPUT_STREAM, GFilterInputStream)

/* A GFilterInputStream that is a GPollableInputStream when its base is
 * one (SoupServer and the WebSocket code need that), for a filter that
 * reads through its base.  A subclass implements GInputStream's read_fn
 * and read_nonblocking below; the polling is done here. */
struct _PstFilterInputStreamClass
{
  GFilterInputStreamClass parent_class;

  /* TRUE when the filter holds bytes that a read returns without the base
   * (readable now, whatever the base says); NULL: never. */
  gboolean (*has_pending)      (PstFilterInputStream *self);
  /* GPollableInputStream's read_nonblocking, through the filter; the
   * default reads the base. */
  gssize   (*read_nonblocking) (PstFilterInputStream  *self,
                                void                  *buffer,
                                gsize                  count,
                                GError               **error);

  gpointer padding[4];
};

GPollableInputStream *pst_filter_input_stream_get_pollable_base (PstFilterInputStream *self);
/* A GIOStream of (self, base's output) that keeps base alive. */
GIOStream            *pst_filter_input_stream_join              (PstFilterInputStream *self,
                                                                 GIOStream            *base);

G_END_DECLS
