/*
 * atomicfile — replace a file atomically: readers see the old content or
 * the new one, never a part.  The data go to a temporary file in the same
 * folder (same file system), are fsync()ed, then rename()d over path, and
 * the folder is fsync()ed so the rename survives a crash.
 */
#ifndef RELEVE_ATOMICFILE_H
#define RELEVE_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "diag.h"

/* 0, or -1 with "path: reason" in d (the temporary file removed). */
int atomicfile_write(const char *path, const char *data, size_t len,
		     mode_t mode, struct diag *d);

#endif
