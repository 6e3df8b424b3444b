/*
 * file — whole-file reads; see file.h.
 */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xalloc.h"

char *file_read_all(const char *path, size_t *len, struct diag *d)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	struct stat sb;

	if (!f) {
		diag_add(d, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		cap = (size_t)sb.st_size + 1; /* +1: see EOF in one read */
	}
	for (;;) {
		size_t got;

		if (cap - n < 1 || cap == 0) {
			cap = cap ? 2 * cap : 65536;
		}
		buf = xreallocarray(buf, cap + 1, 1);
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			break;
		}
	}
	if (ferror(f)) {
		diag_add(d, "%s: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
		if (len) {
			*len = n;
		}
	}
	if (f != stdin) {
		fclose(f);
	}
	return buf;
}
