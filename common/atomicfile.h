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

/*
 * ATOMICFILE_NOSYNC: the same without the fsync()s, for a batch writing
 * many files that syncs its folder once at the end (atomicfile_sync_dir):
 * a crash may then lose recent files, never leave a partial one under
 * its final name.
 */
#define ATOMICFILE_NOSYNC 1u
int atomicfile_write_flags(const char *path, const char *data, size_t len,
			   mode_t mode, unsigned flags, struct diag *d);
/* Flush the file system holding dir (syncfs); 0 or -1 with d. */
int atomicfile_sync_dir(const char *dir, struct diag *d);

#endif
