/*
 * file — read a whole file into memory.
 */
#ifndef RELEVE_FILE_H
#define RELEVE_FILE_H

#include <stddef.h>

#include "diag.h"

/*
 * The whole of path ("-": stdin) as a NUL-terminated buffer (the caller
 * frees it); *len (may be NULL) gets its length.  The buffer is sized from
 * the file's size when it has one.  NULL with "path: reason" in d.
 */
char *file_read_all(const char *path, size_t *len, struct diag *d);

#endif
