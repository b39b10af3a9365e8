/* pst-shared-metrics.c: the figures of every worker of a master, for gateway-wide /metrics and /health
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "pst-shared-metrics.h"
#include "pst-shared-memory.h"

#define MAGIC 0x5053544du   /* "PSTM" */
#define MASTER_SLOT 0
#define READ_TRIES 64
#define ERROR_BYTES 2048

/* A slot: two buffers; the writer fills buffer (gen + 1) & 1, then
 * publishes gen + 1.  "writing" says which generation is being written:
 * a reader that copied buffer gen & 1 keeps its copy only if the writer
 * has not started on gen + 2 meanwhile (which reuses that buffer). */
typedef struct {
  gint32  pid;        /* atomic: the worker writing it, set by the master (0: none) */
  guint32 index;      /* its worker number, 1…N */
  guint32 gen;        /* atomic: the last whole generation */
  guint32 writing;    /* atomic: the generation being written (gen when idle) */
  guint32 len[2];
  guint8  data[2][PST_SHARED_METRICS_SLOT_BYTES];
} Slot;

typedef struct {
  guint32 magic;
  guint32 n_slots;
  guint32 fold_seq;   /* atomic: odd while the master folds a slot into its own */
  guint32 workers_up; /* atomic */
  guint32 workers_wanted;
  gint32  master_pid;
  guint32 stopping;   /* atomic: the master stops (every worker drains) */
  guint32 error_seq;  /* atomic: odd while the master writes the reload error */
  guint32 error_len;  /* 0: the last reload was good (or none) */
  char    error[ERROR_BYTES];
} Header;

struct _PstSharedMetrics
{
  int     fd;
  gsize   size;
  Header *header;
  Slot   *slots;
  guint   slot;       /* ours: MASTER_SLOT for the master, G_MAXUINT for none */
  PstMetricsData master_data;   /* the master's: what slot 0 holds */
  gboolean is_master;
};

static void publish_master (PstSharedMetrics *self);

static gsize
size_for (guint n_slots)
{
  return sizeof (Header) + (gsize) n_slots * sizeof (Slot);
}

static gboolean
map (PstSharedMetrics *self, GError **error)
{
  void *mem = pst_shared_memory_map (self->fd, self->size);

  if (mem == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot map the workers’ shared figures: %s"), g_strerror (saved));
      return FALSE;
    }
  self->header = mem;
  self->slots = (Slot *) ((char *) mem + sizeof (Header));
  return TRUE;
}

static void
write_slot (Slot *slot, const guint8 *bytes, gsize len)
{
  guint32 next = __atomic_load_n (&slot->gen, __ATOMIC_RELAXED) + 1;

  __atomic_store_n (&slot->writing, next, __ATOMIC_RELEASE);
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  memcpy (slot->data[next & 1], bytes, len);
  slot->len[next & 1] = (guint32) len;
  __atomic_store_n (&slot->gen, next, __ATOMIC_RELEASE);
}

/* A whole copy of SLOT's last generation (NULL: empty, or no stable copy). */
static GBytes *
read_slot (Slot *slot)
{
  for (guint tries = 0; tries < READ_TRIES; tries++)
    {
      guint32 gen = __atomic_load_n (&slot->gen, __ATOMIC_ACQUIRE);
      guint32 len = slot->len[gen & 1];
      g_autofree guint8 *copy = NULL;

      if (gen == 0)
        return NULL;
      len = MIN (len, PST_SHARED_METRICS_SLOT_BYTES);
      copy = g_malloc (MAX (len, 1));
      memcpy (copy, slot->data[gen & 1], len);
      __atomic_thread_fence (__ATOMIC_SEQ_CST);
      if (__atomic_load_n (&slot->writing, __ATOMIC_ACQUIRE) - gen <= 1)
        return g_bytes_new_take (g_steal_pointer (&copy), len);
    }
  return NULL;
}

static void
clear_slot (Slot *slot)
{
  __atomic_store_n (&slot->writing, 0, __ATOMIC_RELEASE);
  __atomic_store_n (&slot->gen, 0, __ATOMIC_RELEASE);
  slot->len[0] = slot->len[1] = 0;
}

PstSharedMetrics *
pst_shared_metrics_new (guint n_regions, GError **error)
{
  g_autoptr(PstSharedMetrics) self = g_new0 (PstSharedMetrics, 1);

  self->is_master = TRUE;
  self->slot = MASTER_SLOT;
  pst_metrics_data_init (&self->master_data);
  self->size = size_for (n_regions + 1);
  self->fd = pst_shared_memory_new ("postern-metrics", self->size);
  if (self->fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("cannot make the workers’ shared figures: %s"), g_strerror (saved));
      return NULL;
    }
  if (!map (self, error))
    return NULL;
  self->header->magic = MAGIC;
  self->header->n_slots = n_regions + 1;
  self->header->master_pid = (gint32) getpid ();
  publish_master (self);   /* the gateway's start time */
  return g_steal_pointer (&self);
}

PstSharedMetrics *
pst_shared_metrics_open (int fd, guint region, GError **error)
{
  g_autoptr(PstSharedMetrics) self = g_new0 (PstSharedMetrics, 1);
  Header header;

  self->fd = fd;
  self->slot = G_MAXUINT;
  if (pread (fd, &header, sizeof header, 0) != sizeof header || header.magic != MAGIC ||
      header.n_slots < 2 || header.n_slots > 4097 ||
      (region != G_MAXUINT && region >= header.n_slots - 1))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("descriptor %d does not hold the workers’ shared figures (a worker is started "
                     "by “postern run”)"), fd);
      return NULL;
    }
  self->size = size_for (header.n_slots);
  if (!map (self, error))
    return NULL;
  if (region != G_MAXUINT)
    {
      self->slot = region + 1;
      clear_slot (&self->slots[self->slot]);
    }
  return g_steal_pointer (&self);
}

void
pst_shared_metrics_free (PstSharedMetrics *self)
{
  if (self == NULL)
    return;
  if (self->is_master)
    pst_metrics_data_clear (&self->master_data);
  if (self->header != NULL)
    munmap (self->header, self->size);
  if (self->fd >= 0)
    close (self->fd);
  g_free (self);
}

int
pst_shared_metrics_get_fd (PstSharedMetrics *self)
{
  return self->fd;
}

static gboolean
publish_in (Slot *slot, const PstMetricsData *data)
{
  g_autoptr(GVariant) v = pst_metrics_data_serialize (data);
  gsize len = g_variant_get_size (v);

  if (len > PST_SHARED_METRICS_SLOT_BYTES)
    return FALSE;
  write_slot (slot, g_variant_get_data (v), len);
  return TRUE;
}

gboolean
pst_shared_metrics_publish (PstSharedMetrics *self, const PstMetricsData *data)
{
  if (self->slot == G_MAXUINT || self->is_master)
    return FALSE;
  return publish_in (&self->slots[self->slot], data);
}

static void
free_copies (GBytes **copies, guint n)
{
  for (guint s = 0; s < n; s++)
    g_clear_pointer (&copies[s], g_bytes_unref);
}

void
pst_shared_metrics_sum_others (PstSharedMetrics *self, PstMetricsData *into)
{
  guint n = self->header->n_slots;
  g_autofree GBytes **copies = g_new0 (GBytes *, n);

  for (guint tries = 0; tries < READ_TRIES; tries++)
    {
      guint32 seq = __atomic_load_n (&self->header->fold_seq, __ATOMIC_ACQUIRE);

      if ((seq & 1) && tries + 1 < READ_TRIES)
        {
          g_usleep (100);   /* the master is folding: a few copies of memory */
          continue;
        }
      for (guint s = 0; s < n; s++)
        copies[s] = s == self->slot ? NULL : read_slot (&self->slots[s]);
      __atomic_thread_fence (__ATOMIC_SEQ_CST);
      if (__atomic_load_n (&self->header->fold_seq, __ATOMIC_ACQUIRE) == seq || tries + 1 == READ_TRIES)
        break;
      free_copies (copies, n);
    }
  for (guint s = 0; s < n; s++)
    if (copies[s] != NULL)
      {
        gsize len = 0;
        const guint8 *data = g_bytes_get_data (copies[s], &len);

        /* (the master's slot alone counts the reloads) */
        pst_metrics_data_merge_serialized (into, data, len, s != MASTER_SLOT);
      }
  free_copies (copies, n);
}

void
pst_shared_metrics_get_workers (PstSharedMetrics *self, guint *up, guint *wanted)
{
  *up = __atomic_load_n (&self->header->workers_up, __ATOMIC_ACQUIRE);
  *wanted = __atomic_load_n (&self->header->workers_wanted, __ATOMIC_ACQUIRE);
}

void
pst_shared_metrics_set_workers (PstSharedMetrics *self, guint up, guint wanted)
{
  __atomic_store_n (&self->header->workers_wanted, wanted, __ATOMIC_RELEASE);
  __atomic_store_n (&self->header->workers_up, up, __ATOMIC_RELEASE);
}

static void
publish_master (PstSharedMetrics *self)
{
  if (!publish_in (&self->slots[MASTER_SLOT], &self->master_data))
    g_warning ("the figures of past workers no longer fit in %d bytes: /metrics misses them",
               PST_SHARED_METRICS_SLOT_BYTES);
}

void
pst_shared_metrics_fold (PstSharedMetrics *self, guint region)
{
  Slot *slot;
  g_autoptr(GBytes) bytes = NULL;
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (self->is_master);
  if (region == G_MAXUINT || region + 1 >= self->header->n_slots)
    return;
  slot = &self->slots[region + 1];
  /* The worker is gone: nothing writes the slot any more. */
  bytes = read_slot (slot);
  if (bytes != NULL)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (bytes, &len);

      pst_metrics_data_merge_serialized (&self->master_data, data, len, TRUE);
    }
  /* Its connections are gone with it: the open gauge drops to zero. */
  g_hash_table_iter_init (&iter, self->master_data.services);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((PstServiceFigures *) value)->closed = ((PstServiceFigures *) value)->opened;
  __atomic_add_fetch (&self->header->fold_seq, 1, __ATOMIC_ACQ_REL);
  publish_master (self);
  clear_slot (slot);
  __atomic_store_n (&slot->pid, 0, __ATOMIC_RELEASE);
  __atomic_add_fetch (&self->header->fold_seq, 1, __ATOMIC_ACQ_REL);
}

void
pst_shared_metrics_set_process (PstSharedMetrics *self, guint region, int pid, guint index)
{
  Slot *slot;

  g_return_if_fail (self->is_master);
  if (region == G_MAXUINT || region + 1 >= self->header->n_slots)
    return;
  slot = &self->slots[region + 1];
  slot->index = index;
  __atomic_store_n (&slot->pid, (gint32) pid, __ATOMIC_RELEASE);
}

static gint
compare_processes (gconstpointer a, gconstpointer b)
{
  const PstSharedProcess *pa = a, *pb = b;

  if (pa->index != pb->index)
    return pa->index < pb->index ? -1 : 1;
  return pa->pid < pb->pid ? -1 : pa->pid > pb->pid;
}

GArray *
pst_shared_metrics_dup_processes (PstSharedMetrics *self, int *master_pid)
{
  GArray *workers = g_array_new (FALSE, FALSE, sizeof (PstSharedProcess));

  *master_pid = self->header->master_pid;
  for (guint s = 1; s < self->header->n_slots; s++)
    {
      PstSharedProcess p;

      p.pid = __atomic_load_n (&self->slots[s].pid, __ATOMIC_ACQUIRE);
      p.index = MIN (self->slots[s].index, 4096u);
      if (p.pid > 0)
        g_array_append_val (workers, p);
    }
  g_array_sort (workers, compare_processes);
  return workers;
}

void
pst_shared_metrics_set_stopping (PstSharedMetrics *self, gboolean stopping)
{
  g_return_if_fail (self->is_master);
  __atomic_store_n (&self->header->stopping, stopping ? 1 : 0, __ATOMIC_RELEASE);
}

gboolean
pst_shared_metrics_get_stopping (PstSharedMetrics *self)
{
  return __atomic_load_n (&self->header->stopping, __ATOMIC_ACQUIRE) != 0;
}

void
pst_shared_metrics_reload_done (PstSharedMetrics *self, gboolean success)
{
  g_return_if_fail (self->is_master);
  self->master_data.last_reload_unix = g_get_real_time () / G_USEC_PER_SEC;
  if (success)
    self->master_data.reloads_success++;
  else
    self->master_data.reloads_failure++;
  publish_master (self);
}

void
pst_shared_metrics_set_reload_error (PstSharedMetrics *self, const char *message)
{
  gsize len = message != NULL ? strlen (message) : 0;

  g_return_if_fail (self->is_master);
  /* cut on a character boundary: it is shown as UTF-8 text */
  if (len > ERROR_BYTES)
    len = g_utf8_find_prev_char (message, message + ERROR_BYTES + 1) - message;
  __atomic_add_fetch (&self->header->error_seq, 1, __ATOMIC_ACQ_REL);
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  memcpy (self->header->error, message != NULL ? message : "", len);
  self->header->error_len = (guint32) len;
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  __atomic_add_fetch (&self->header->error_seq, 1, __ATOMIC_ACQ_REL);
}

char *
pst_shared_metrics_dup_reload_error (PstSharedMetrics *self)
{
  for (guint tries = 0; tries < READ_TRIES; tries++)
    {
      guint32 seq = __atomic_load_n (&self->header->error_seq, __ATOMIC_ACQUIRE);
      guint32 len = MIN (self->header->error_len, ERROR_BYTES);
      char copy[ERROR_BYTES];

      if (seq & 1)
        {
          g_usleep (100);
          continue;
        }
      memcpy (copy, self->header->error, len);
      __atomic_thread_fence (__ATOMIC_SEQ_CST);
      if (__atomic_load_n (&self->header->error_seq, __ATOMIC_ACQUIRE) != seq)
        continue;
      if (len == 0)
        return NULL;
      /* the master's own text, but shared memory: only valid UTF-8 leaves */
      return g_utf8_make_valid (copy, len);
    }
  return NULL;
}
