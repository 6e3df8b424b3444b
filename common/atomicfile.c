/*
 * atomicfile — write, fsync, rename (see atomicfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "xalloc.h"

int atomicfile_write(const char *path, const char *data, size_t len,
		     mode_t mode, struct diag *d)
{
	return atomicfile_write_flags(path, data, len, mode, 0, d);
}

int atomicfile_write_flags(const char *path, const char *data, size_t len,
			   mode_t mode, unsigned flags, struct diag *d)
{
	int sync = !(flags & ATOMICFILE_NOSYNC);
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	size_t off = 0;
	int fd, dfd, created = 0;

	if (slash) {
		slash[slash == dir ? 1 : 0] = '\0';
	} else {
		strcpy(dir, ".");
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		diag_add(d, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	created = 1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			diag_add(d, "%s: write: %s", tmp,
				 n < 0 ? strerror(errno) : "short write");
			goto fail_fd;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, mode) != 0 || (sync && fsync(fd) != 0)) {
		diag_add(d, "%s: %s", tmp, strerror(errno));
		goto fail_fd;
	}
	if (close(fd) != 0) {
		diag_add(d, "%s: close: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		diag_add(d, "%s: rename: %s", path, strerror(errno));
		goto fail;
	}
	dfd = sync ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
	if (dfd >= 0) {
		/* Best effort: some file systems refuse fsync on a folder. */
		(void)fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir);
	return 0;
fail_fd:
	close(fd);
fail:
	if (created) {
		unlink(tmp);
	}
	free(tmp);
	free(dir);
	return -1;
}

int atomicfile_sync_dir(const char *dir, struct diag *d)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc = 0;

	if (fd < 0) {
		diag_add(d, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (syncfs(fd) != 0) {
		diag_add(d, "%s: syncfs: %s", dir, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}
