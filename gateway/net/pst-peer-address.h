/* pst-peer-address.h: a client's address that knows its PstConnection
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PstConnection PstConnection;

#define PST_TYPE_PEER_ADDRESS (pst_peer_address_get_type ())
G_DECLARE_FINAL_TYPE (PstPeerAddress, pst_peer_address, PST, PEER_ADDRESS, GInetSocketAddress)

/* SoupServer keeps the remote address handed to soup_server_accept_iostream
 * and gives the same object back from soup_server_message_get_remote_address:
 * that identity, not the "ip:port" text, leads from a message to its
 * connection.  connection is a weak pointer. */
PstPeerAddress *pst_peer_address_new            (GInetSocketAddress *address, PstConnection *connection);
PstConnection  *pst_peer_address_get_connection (PstPeerAddress *self);   /* nullable */
/* The connection behind a message's remote address, or NULL. */
PstConnection  *pst_peer_address_lookup         (GSocketAddress *remote);

G_END_DECLS
