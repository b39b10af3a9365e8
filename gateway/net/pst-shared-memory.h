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

G_END_DECLS
