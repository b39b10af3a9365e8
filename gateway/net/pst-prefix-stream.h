/* pst-prefix-stream.h: an input that first returns bytes already read, then its base stream's
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-filter-input-stream.h"

G_BEGIN_DECLS

#define PST_TYPE_PREFIX_STREAM (pst_prefix_stream_get_type ())
G_DECLARE_FINAL_TYPE (PstPrefixStream, pst_prefix_stream, PST, PREFIX_STREAM, PstFilterInputStream)

/* A GIOStream whose input returns prefix (bytes read past an HTTP head,
 * e.g. the first WebSocket frames sent with a 101) and then base's input,
 * pollable when base's is; its output is base's; it keeps base alive.
 * (A GBufferedInputStream holding them would not do: its read_async waits
 * to fill the whole request, so a frame that came with the head is not
 * delivered until more bytes arrive.) */
GIOStream *pst_prefix_stream_wrap (GIOStream *base, GBytes *prefix);

G_END_DECLS
