/* pst-peer-address.c: a client's address that knows its PstConnection
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-peer-address.h"

struct _PstPeerAddress
{
  GInetSocketAddress parent_instance;
  GObject           *connection;   /* weak */
};

G_DEFINE_TYPE (PstPeerAddress, pst_peer_address, G_TYPE_INET_SOCKET_ADDRESS)

static void
pst_peer_address_dispose (GObject *object)
{
  PstPeerAddress *self = PST_PEER_ADDRESS (object);

  if (self->connection != NULL)
    g_object_remove_weak_pointer (self->connection, (gpointer *) &self->connection);
  self->connection = NULL;
  G_OBJECT_CLASS (pst_peer_address_parent_class)->dispose (object);
}

static void
pst_peer_address_class_init (PstPeerAddressClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pst_peer_address_dispose;
}

static void
pst_peer_address_init (PstPeerAddress *self)
{
}

PstPeerAddress *
pst_peer_address_new (GInetSocketAddress *address, PstConnection *connection)
{
  PstPeerAddress *self;
  GInetAddress *inet;
  gboolean v6;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), NULL);
  inet = g_inet_socket_address_get_address (address);
  /* flowinfo and scope-id exist for IPv6 only (GIO warns otherwise). */
  v6 = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6;
  self = g_object_new (PST_TYPE_PEER_ADDRESS,
                       "address", inet,
                       "port", (guint) g_inet_socket_address_get_port (address),
                       "flowinfo", v6 ? g_inet_socket_address_get_flowinfo (address) : 0,
                       "scope-id", v6 ? g_inet_socket_address_get_scope_id (address) : 0,
                       NULL);
  self->connection = G_OBJECT (connection);
  g_object_add_weak_pointer (self->connection, (gpointer *) &self->connection);
  return self;
}

PstConnection *
pst_peer_address_get_connection (PstPeerAddress *self)
{
  return (PstConnection *) self->connection;
}

PstConnection *
pst_peer_address_lookup (GSocketAddress *remote)
{
  if (remote == NULL || !PST_IS_PEER_ADDRESS (remote))
    return NULL;
  return pst_peer_address_get_connection (PST_PEER_ADDRESS (remote));
}
