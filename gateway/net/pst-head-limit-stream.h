/* pst-head-limit-stream.h: caps the size of an HTTP request head before SoupServer buffers it
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-filter-input-stream.h"

G_BEGIN_DECLS

#define PST_TYPE_HEAD_LIMIT_STREAM (pst_head_limit_stream_get_type ())
G_DECLARE_FINAL_TYPE (PstHeadLimitStream, pst_head_limit_stream, PST, HEAD_LIMIT_STREAM, PstFilterInputStream)

/* SoupServer grows its header buffer without bound; this input counts the
 * bytes of each request head and, past limit, answers 431 on out and fails
 * the read.  base must be pollable (SoupServer needs that). */
GInputStream *pst_head_limit_stream_new    (GInputStream *base, GOutputStream *out, gsize limit);
/* A request's head was read: stop counting until the next request starts. */
void          pst_head_limit_stream_disarm (PstHeadLimitStream *self);
void          pst_head_limit_stream_arm    (PstHeadLimitStream *self);
/* func(data) runs when the first byte of a request head arrives (the
 * stream is armed and nothing of this head was read yet): the time a slow
 * head may take is counted from there. */
void          pst_head_limit_stream_set_first_byte_func (PstHeadLimitStream *self,
                                                         void (*func) (gpointer), gpointer data);

/* func(data) runs when the client closes its side while the stream is
 * armed (between requests, or in the middle of a head): SoupServer 3.2
 * drops such a connection without a signal we could see. */
void          pst_head_limit_stream_set_eof_func (PstHeadLimitStream *self,
                                                  void (*func) (gpointer), gpointer data);

/* A GIOStream of (limited input, base's output) that keeps base alive. */
GIOStream    *pst_head_limit_wrap          (GIOStream *base, gsize limit, PstHeadLimitStream **out_limit);

G_END_DECLS
