/* pst-shared-memory.h: memory a master shares with its workers (a memfd, mapped)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new memfd (close-on-exec) of size zeroed bytes, named name (seen in
 * /proc/PID/fd); -1 with errno set on failure. */
int    pst_shared_memory_new (const char *name,
                              gsize       size);
/* fd's first size bytes mapped shared, read-write; NULL with errno set
 * on failure.  munmap () it. */
void  *pst_shared_memory_map (int         fd,
                              gsize       size);

/* A new memfd holding BYTES, sealed (no write, no resize): what a worker
 * maps or reads is what the master wrote, for as long as it lives; -1
 * with error on failure. */
int     pst_shared_memory_new_sealed  (const char *name,
                                       GBytes     *bytes,
                                       GError    **error);
/* A sealed memfd's bytes (at most MAX), NUL-terminated past their length;
 * NULL with error when FD is not sealed so, larger or unreadable.  FD is
 * left open. */
GBytes *pst_shared_memory_read_sealed (int         fd,
                                       gsize       max,
                                       GError    **error);

G_END_DECLS
