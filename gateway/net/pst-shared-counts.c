/* pst-shared-counts.c: connection counts per client address, shared by a master's workers
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "pst-shared-counts.h"
#include "pst-shared-memory.h"

/* Layout: a header, then N regions of SLOTS slots.  A slot holds an
 * address (its length last, so that a reader never sees a half-written
 * key as valid) and a count.  Open addressing, linear probing; a slot
 * keeps its address once used (count 0 when idle) until its region is
 * compacted, which only its writer does. */
#define MAGIC 0x50535443u   /* "PSTC" */
#define SLOTS 4096          /* per region: distinct client addresses a worker tracks at once */

typedef struct {
  guint32 count;            /* atomic */
  guint32 len;              /* atomic; 0: empty, 4 or 16 */
  guint8  key[16];
} Slot;

/* Per region: the worker's connections and whether it accepts, so that
 * a worker holding clearly more than another leaves a burst to it. */
typedef struct {
  guint32 connections;      /* atomic */
  guint32 accepting;        /* atomic */
} Load;

typedef struct {
  guint32 magic;
  guint32 n_regions;
  gint64  last_log_us;      /* atomic: the last refusal line, CLOCK_MONOTONIC */
  guint32 refused;          /* atomic: refusals since */
  guint32 pad;
} Header;

struct _PstSharedCounts
{
  int     fd;
  gsize   size;
  Header *header;
  Load   *loads;
  Slot   *slots;
  guint   region;           /* ours, or PST_SHARED_COUNTS_NO_REGION */
  guint   used;             /* slots with a key in our region */
};

static gsize
size_for (guint n_regions)
{
  return sizeof (Header) + (gsize) n_regions * sizeof (Load) + (gsize) n_regions * SLOTS * sizeof (Slot);
}

static gboolean
map (PstSharedCounts *self, guint n_regions, GError **error)
{
  void *mem = pst_shared_memory_map (self->fd, self->size);

  if (mem == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot map the workers’ shared counts: %s"), g_strerror (saved));
      return FALSE;
    }
  self->header = mem;
  self->loads = (Load *) ((char *) mem + sizeof (Header));
  self->slots = (Slot *) ((char *) mem + sizeof (Header) + (gsize) n_regions * sizeof (Load));
  return TRUE;
}

PstSharedCounts *
pst_shared_counts_new (guint n_regions, GError **error)
{
  g_autoptr(PstSharedCounts) self = g_new0 (PstSharedCounts, 1);

  self->region = PST_SHARED_COUNTS_NO_REGION;
  self->size = size_for (n_regions);
  self->fd = pst_shared_memory_new ("postern-counts", self->size);
  if (self->fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot make the workers’ shared counts: %s"), g_strerror (saved));
      return NULL;
    }
  if (!map (self, n_regions, error))
    return NULL;
  self->header->magic = MAGIC;
  self->header->n_regions = n_regions;
  return g_steal_pointer (&self);
}

PstSharedCounts *
pst_shared_counts_open (int fd, guint region, GError **error)
{
  g_autoptr(PstSharedCounts) self = g_new0 (PstSharedCounts, 1);
  Header header;

  self->fd = fd;
  self->region = PST_SHARED_COUNTS_NO_REGION;
  if (pread (fd, &header, sizeof header, 0) != sizeof header || header.magic != MAGIC ||
      header.n_regions == 0 || header.n_regions > 4096 ||
      (region != PST_SHARED_COUNTS_NO_REGION && region >= header.n_regions))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("descriptor %d does not hold the workers’ shared counts (a worker is started "
                     "by “postern run”)"), fd);
      return NULL;
    }
  self->size = size_for (header.n_regions);
  if (!map (self, header.n_regions, error))
    return NULL;
  self->region = region;
  if (region != PST_SHARED_COUNTS_NO_REGION)
    pst_shared_counts_clear_region (self, region);
  return g_steal_pointer (&self);
}

void
pst_shared_counts_free (PstSharedCounts *self)
{
  if (self == NULL)
    return;
  if (self->header != NULL)
    munmap (self->header, self->size);
  if (self->fd >= 0)
    close (self->fd);
  g_free (self);
}

int
pst_shared_counts_get_fd (PstSharedCounts *self)
{
  return self->fd;
}

guint
pst_shared_counts_get_n_regions (PstSharedCounts *self)
{
  return self->header->n_regions;
}

void
pst_shared_counts_clear_region (PstSharedCounts *self, guint region)
{
  Slot *slots;

  g_return_if_fail (region < self->header->n_regions);
  g_atomic_int_set (&self->loads[region].accepting, 0);
  g_atomic_int_set (&self->loads[region].connections, 0);
  slots = self->slots + (gsize) region * SLOTS;
  for (guint i = 0; i < SLOTS; i++)
    {
      g_atomic_int_set (&slots[i].len, 0);
      g_atomic_int_set (&slots[i].count, 0);
    }
  if (region == self->region)
    self->used = 0;
}

static guint
hash (const guint8 *key, gsize len)
{
  guint h = 5381;

  for (gsize i = 0; i < len; i++)
    h = h * 33 + key[i];
  return h;
}

/* The slot holding KEY in REGION, or the empty one where it would go
 * (NULL: the region is full and KEY is not there). */
static Slot *
find (PstSharedCounts *self, guint region, const guint8 *key, guint32 len)
{
  Slot *slots = self->slots + (gsize) region * SLOTS;
  guint start = hash (key, len) % SLOTS;

  for (guint i = 0; i < SLOTS; i++)
    {
      Slot *slot = &slots[(start + i) % SLOTS];
      guint32 slot_len = (guint32) g_atomic_int_get (&slot->len);

      if (slot_len == 0 || (slot_len == len && memcmp (slot->key, key, len) == 0))
        return slot;
    }
  return NULL;
}

guint
pst_shared_counts_get_others (PstSharedCounts *self, GInetAddress *address)
{
  const guint8 *key = g_inet_address_to_bytes (address);
  guint32 len = (guint32) g_inet_address_get_native_size (address);
  guint total = 0;

  for (guint r = 0; r < self->header->n_regions; r++)
    {
      Slot *slot;

      if (r == self->region)
        continue;
      slot = find (self, r, key, len);
      if (slot != NULL && (guint32) g_atomic_int_get (&slot->len) == len)
        total += (guint) g_atomic_int_get (&slot->count);
    }
  return total;
}

/* Our region is full of addresses: keep those that still hold
 * connections (readers may miss one for an instant). */
static void
compact (PstSharedCounts *self)
{
  Slot *slots = self->slots + (gsize) self->region * SLOTS;
  g_autofree Slot *live = g_new (Slot, SLOTS);
  guint n = 0;

  for (guint i = 0; i < SLOTS; i++)
    if (slots[i].len != 0 && slots[i].count != 0)
      live[n++] = slots[i];
  pst_shared_counts_clear_region (self, self->region);
  for (guint i = 0; i < n; i++)
    {
      Slot *slot = find (self, self->region, live[i].key, live[i].len);

      memcpy (slot->key, live[i].key, sizeof slot->key);
      g_atomic_int_set (&slot->count, live[i].count);
      g_atomic_int_set (&slot->len, live[i].len);
      self->used++;
    }
}

void
pst_shared_counts_publish (PstSharedCounts *self, GInetAddress *address, guint count)
{
  const guint8 *key = g_inet_address_to_bytes (address);
  guint32 len = (guint32) g_inet_address_get_native_size (address);
  Slot *slot;

  if (self->region == PST_SHARED_COUNTS_NO_REGION || len > 16)
    return;
  slot = find (self, self->region, key, len);
  if (slot == NULL || (slot->len == 0 && self->used >= SLOTS * 3 / 4))
    {
      if (count == 0)
        return;
      compact (self);
      slot = find (self, self->region, key, len);
      if (slot == NULL)
        return;   /* SLOTS addresses hold connections here: this one goes uncounted by the others */
    }
  if (slot->len == 0)
    {
      if (count == 0)
        return;
      memcpy (slot->key, key, len);
      g_atomic_int_set (&slot->count, count);
      g_atomic_int_set (&slot->len, len);   /* last: the key is whole */
      self->used++;
      return;
    }
  g_atomic_int_set (&slot->count, count);
}

gboolean
pst_shared_counts_refusal_log_due (PstSharedCounts *self, guint *refused)
{
  gint64 now = g_get_monotonic_time ();
  gint64 last;

  __atomic_fetch_add (&self->header->refused, 1, __ATOMIC_ACQ_REL);
  last = __atomic_load_n (&self->header->last_log_us, __ATOMIC_ACQUIRE);
  if (last != 0 && now - last < G_USEC_PER_SEC)
    return FALSE;
  /* One process wins the second. */
  if (!__atomic_compare_exchange_n (&self->header->last_log_us, &last, now, FALSE,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return FALSE;
  *refused = (guint) __atomic_exchange_n (&self->header->refused, 0, __ATOMIC_ACQ_REL);
  return TRUE;
}

void
pst_shared_counts_set_load (PstSharedCounts *self, guint connections, gboolean accepting)
{
  if (self->region == PST_SHARED_COUNTS_NO_REGION)
    return;
  g_atomic_int_set (&self->loads[self->region].connections, connections);
  g_atomic_int_set (&self->loads[self->region].accepting, accepting ? 1 : 0);
}

gboolean
pst_shared_counts_should_yield (PstSharedCounts *self, guint mine)
{
  /* nginx's idea (a worker past 7/8 of its connections stops accepting
   * for a while), measured against the least loaded sibling: clearly
   * more than it (an eighth and a few connections) leaves it the rest. */
  guint margin = 4 + mine / 8;

  if (self->region == PST_SHARED_COUNTS_NO_REGION || mine < margin)
    return FALSE;
  for (guint r = 0; r < self->header->n_regions; r++)
    if (r != self->region && g_atomic_int_get (&self->loads[r].accepting) &&
        (guint) g_atomic_int_get (&self->loads[r].connections) + margin < mine)
      return TRUE;
  return FALSE;
}
