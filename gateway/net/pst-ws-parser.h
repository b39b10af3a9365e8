/* pst-ws-parser.h: RFC 6455 frame parsing as a pure, incremental state machine
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opcodes (RFC 6455 §5.2) */
typedef enum {
  PST_WS_OP_CONTINUATION = 0x0,
  PST_WS_OP_TEXT         = 0x1,
  PST_WS_OP_BINARY       = 0x2,
  PST_WS_OP_CLOSE        = 0x8,
  PST_WS_OP_PING         = 0x9,
  PST_WS_OP_PONG         = 0xA,
} PstWsOpcode;

/* Close codes (RFC 6455 §7.4.1) */
#define PST_WS_CLOSE_NORMAL          1000
#define PST_WS_CLOSE_GOING_AWAY      1001
#define PST_WS_CLOSE_PROTOCOL_ERROR  1002
#define PST_WS_CLOSE_NO_STATUS       1005
#define PST_WS_CLOSE_ABNORMAL        1006
#define PST_WS_CLOSE_BAD_DATA        1007
#define PST_WS_CLOSE_POLICY          1008
#define PST_WS_CLOSE_TOO_BIG         1009
#define PST_WS_CLOSE_SERVER_ERROR    1011

/* TRUE for a code a peer may put in a close frame (1000–1003, 1007–1014,
 * 3000–4999); 1005, 1006 and 1015 are for reporting only. */
gboolean pst_ws_close_code_is_valid (guint code);

/* Incremental UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF).
 * state starts zeroed; returns FALSE at the first invalid byte.
 * pst_ws_utf8_complete says whether the text ends on a code point. */
typedef struct {
  guint8 need, lo, hi;
} PstWsUtf8;

gboolean pst_ws_utf8_feed     (PstWsUtf8 *state, const guint8 *data, gsize len);
/* How many bytes of data are valid (len when all are). */
gsize    pst_ws_utf8_validate (PstWsUtf8 *state, const guint8 *data, gsize len);
gboolean pst_ws_utf8_complete (const PstWsUtf8 *state);

/* Where the parser is.  Every transition is checked before the state
 * changes; once FAILED or CLOSED, input is ignored. */
typedef enum {
  PST_WS_PARSER_HEADER,          /* reading a frame header (2–14 bytes) */
  PST_WS_PARSER_DATA,            /* inside a data frame's payload */
  PST_WS_PARSER_CONTROL,         /* inside a control frame's payload (≤ 125) */
  PST_WS_PARSER_CLOSED,          /* a valid close frame was read: nothing follows */
  PST_WS_PARSER_FAILED,          /* a protocol error: nothing follows */
} PstWsParserState;

/* What the parser reports.  The callbacks may not feed the same parser. */
typedef struct {
  /* A data message begins (TEXT or BINARY). */
  void (*message_start) (gpointer user_data, PstWsOpcode opcode);
  /* Payload of the current message, unmasked, in order, in the caller's
   * buffer (valid until the callback returns).  For text the bytes seen
   * so far are valid UTF-8 (a code point may be split across calls);
   * fin is TRUE on the call that ends the message (len may then be 0). */
  void (*message_data)  (gpointer user_data, const guint8 *data, gsize len, gboolean fin);
  /* A whole, valid PING or PONG frame. */
  void (*control)       (gpointer user_data, PstWsOpcode opcode, const guint8 *payload, gsize len);
  /* A whole, valid close frame: code 1005 when it had no payload; the
   * reason is valid UTF-8 (NUL-terminated copy, len bytes). */
  void (*close)         (gpointer user_data, guint code, const char *reason, gsize len);
  /* Every frame header, data or control, empty ones included (optional):
   * lets the owner count what a peer sends, not just what it costs. */
  void (*frame)         (gpointer user_data, PstWsOpcode opcode, gboolean fin, guint64 length);
} PstWsParserSink;

typedef struct {
  /* configuration */
  gboolean         expect_masked;     /* TRUE on the server side */
  guint64          max_message_size;  /* 0: none; larger → 1009 */
  PstWsParserSink  sink;
  gpointer         user_data;

  /* state */
  PstWsParserState state;
  guint8           hdr[14];
  guint8           hdr_len;
  guint8           opcode;            /* of the current frame */
  gboolean         fin;
  gboolean         masked;
  guint8           mask[4];
  guint8           mask_off;          /* 0..3 */
  guint64          remaining;         /* payload left in the current frame */
  gboolean         in_message;        /* a fragmented message is open */
  guint8           message_opcode;    /* TEXT or BINARY of the open message */
  guint64          message_size;
  PstWsUtf8        utf8;              /* of the open text message */
  guint8           ctl[125];
  guint8           ctl_len;

  /* the protocol error, once FAILED */
  guint            error_code;
  const char      *error_reason;      /* static, English, for the close frame and logs */
  /* Once FAILED the input is only skipped, frame by frame where the
   * lengths can still be trusted, looking for the peer's close frame:
   * after our close frame the peer answers with its own, and we hang up
   * at once instead of waiting out a deadline. */
  guint64          skip;
  gboolean         peer_closed;       /* a close frame header was seen */
} PstWsParser;

/* dst = src XOR the masking key, starting at key[phase] (RFC 6455 §5.3);
 * dst may be src.  Returns the phase after the last byte. */
guint    pst_ws_mask         (guint8 *dst, const guint8 *src, gsize len, const guint8 key[4],
                              guint phase);

void     pst_ws_parser_init  (PstWsParser *parser, gboolean expect_masked, guint64 max_message_size,
                              const PstWsParserSink *sink, gpointer user_data);
/* Parse len bytes (unmasked in place).  Returns FALSE once the parser is
 * FAILED (error_code, error_reason say why); the bytes after the error
 * are skipped (see peer_closed).  After a close frame the rest is
 * ignored (TRUE). */
gboolean pst_ws_parser_feed  (PstWsParser *parser, guint8 *data, gsize len);

G_END_DECLS
