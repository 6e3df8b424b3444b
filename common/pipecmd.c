/*
 * pipecmd — run a shell command fed from a buffer (see pipecmd.h).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipecmd.h"

int pipecmd_run(const char *cmd, const char *input, size_t len,
		struct diag *d)
{
	struct sigaction ign, old;
	int fds[2], status, rc = 0;
	size_t off = 0;
	pid_t pid;

	if (pipe(fds) != 0) {
		diag_add(d, "%s: pipe: %s", cmd, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		diag_add(d, "%s: fork: %s", cmd, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], 0) < 0) {
			_exit(126);
		}
		close(fds[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	while (off < len) {
		ssize_t n = write(fds[1], input + off, len - off);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			diag_add(d, "%s: writing its input: %s", cmd,
				 n < 0 ? strerror(errno) : "short write");
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	close(fds[1]);
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			diag_add(d, "%s: waitpid: %s", cmd, strerror(errno));
			return -1;
		}
	}
	if (WIFSIGNALED(status)) {
		diag_add(d, "%s: killed by signal %d", cmd, WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		diag_add(d, "%s: exit status %d", cmd, WEXITSTATUS(status));
		return -1;
	}
	return rc;
}
