/*
 * pglocal — create, start and stop the embedded PostgreSQL cluster with
 * initdb and pg_ctl; see pglocal.h for the layout and why it is so.
 *
 * initdb and pg_ctl run as child processes; as root the child drops to
 * the `postgres` user (or RELEVE_PG_USER) before exec, and works from the
 * state folder, since the caller's folder may be closed to that user.
 * Their output goes to state/initdb.log and state/server.log.
 */
#include "pglocal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xalloc.h"

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int is_exec(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The highest /usr/lib/postgresql/N/bin holding pg_ctl, else PATH's. */
static char *find_bindir(void)
{
	const char *env = getenv("RELEVE_PG_BINDIR");
	DIR *dir;
	struct dirent *e;
	long best = -1;
	char *found = NULL;

	if (env && *env) {
		return xstrdup(env);
	}
	dir = opendir("/usr/lib/postgresql");
	if (dir) {
		while ((e = readdir(dir))) {
			char *end, *p;
			long v = strtol(e->d_name, &end, 10);

			if (end == e->d_name || *end || v <= best) {
				continue;
			}
			p = xasprintf("/usr/lib/postgresql/%s/bin/pg_ctl", e->d_name);
			if (is_exec(p)) {
				best = v;
				free(found);
				found = xasprintf("/usr/lib/postgresql/%s/bin", e->d_name);
			}
			free(p);
		}
		closedir(dir);
	}
	if (found) {
		return found;
	}
	const char *path = getenv("PATH");
	if (!path) {
		return NULL;
	}
	char *copy = xstrdup(path), *save = NULL;
	for (char *tok = strtok_r(copy, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/pg_ctl", tok);
		int ok = is_exec(p);

		free(p);
		if (ok) {
			found = xstrdup(tok);
			break;
		}
	}
	free(copy);
	return found;
}

int pglocal_init(struct pglocal *pl, const char *dir, struct diag *d)
{
	char real[PATH_MAX];

	memset(pl, 0, sizeof(*pl));
	if (!realpath(dir ? dir : ".", real)) {
		diag_add(d, "%s: %s", dir ? dir : ".", strerror(errno));
		return -1;
	}
	pl->root = xstrdup(real);
	pl->link = xasprintf("%s/var/pg", real);
	pl->state = xasprintf("/var/tmp/releve-%u-%016llx", (unsigned)getuid(),
			      (unsigned long long)fnv1a(real));
	pl->data = xasprintf("%s/data", pl->state);
	pl->sock = xasprintf("%s/sock", pl->state);
	pl->logfile = xasprintf("%s/server.log", pl->state);
	pl->run_uid = getuid();
	pl->run_gid = getgid();
	pl->bindir = find_bindir();
	if (!pl->bindir) {
		diag_add(d, "PostgreSQL's pg_ctl was not found (install the "
			    "postgresql package, or set RELEVE_PG_BINDIR)");
		return -1;
	}
	if (geteuid() == 0) {
		const char *user = getenv("RELEVE_PG_USER");
		struct passwd *pw = getpwnam(user && *user ? user : "postgres");

		if (!pw) {
			diag_add(d, "PostgreSQL does not run as root and there is "
				    "no '%s' user to run it (install the "
				    "postgresql package or set RELEVE_PG_USER)",
				 user && *user ? user : "postgres");
			return -1;
		}
		pl->run_uid = pw->pw_uid;
		pl->run_gid = pw->pw_gid;
	}
	return 0;
}

void pglocal_free(struct pglocal *pl)
{
	if (!pl) {
		return;
	}
	free(pl->root);
	free(pl->link);
	free(pl->state);
	free(pl->data);
	free(pl->sock);
	free(pl->logfile);
	free(pl->bindir);
	memset(pl, 0, sizeof(*pl));
}

/*
 * Run bindir/prog with args as the server's user, from the state folder,
 * output appended to logpath.  Returns the exit status, or -1.
 */
static int run_pg(const struct pglocal *pl, const char *logpath,
		  const char *const args[], struct diag *d)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		diag_add(d, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0600);

		if (geteuid() == 0 && pl->run_uid != 0) {
			if (setgroups(0, NULL) || setgid(pl->run_gid) ||
			    setuid(pl->run_uid)) {
				_exit(126);
			}
		}
		if (chdir(pl->state) != 0) {
			_exit(126);
		}
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		char *prog = xasprintf("%s/%s", pl->bindir, args[0]);
		size_t n = 0;

		while (args[n]) {
			n++;
		}
		/* initdb finds postgres beside itself through argv[0]: give
		 * the full path, PATH may not hold the folder. */
		const char **argv = xcalloc(n + 1, sizeof(*argv));

		argv[0] = prog;
		for (size_t i = 1; i < n; i++) {
			argv[i] = args[i];
		}
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			diag_add(d, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(st)) {
		return WEXITSTATUS(st);
	}
	return -1;
}

static int make_dir(const struct pglocal *pl, const char *path, struct diag *d)
{
	struct stat sb;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		diag_add(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &sb) != 0) {
		diag_add(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (sb.st_uid != pl->run_uid) {
		if (geteuid() != 0 ||
		    chown(path, pl->run_uid, pl->run_gid) != 0) {
			diag_add(d, "%s: belongs to another user (uid %u)",
				 path, (unsigned)sb.st_uid);
			return -1;
		}
	}
	return 0;
}

/* root/var/pg -> state, replacing a stale link. */
static int make_link(const struct pglocal *pl, struct diag *d)
{
	char *var = xasprintf("%s/var", pl->root);
	char target[PATH_MAX];
	ssize_t n;
	struct stat sb;
	int rc = -1;

	if (mkdir(var, 0755) != 0 && errno != EEXIST) {
		diag_add(d, "%s: %s", var, strerror(errno));
		goto out;
	}
	n = readlink(pl->link, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (!strcmp(target, pl->state)) {
			rc = 0;
			goto out;
		}
		unlink(pl->link);
	} else if (lstat(pl->link, &sb) == 0) {
		diag_add(d, "%s: exists and is not a link to %s; move it away",
			 pl->link, pl->state);
		goto out;
	}
	if (symlink(pl->state, pl->link) != 0) {
		diag_add(d, "%s: %s", pl->link, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(var);
	return rc;
}

/* Settings of a throwaway cluster: socket only, quick rather than durable. */
static const char local_conf[] =
	"\n# Added by releve local: a throwaway cluster, socket only.\n"
	"listen_addresses = ''\n"
	"port = 5432\n"
	"unix_socket_directories = '%s'\n"
	"unix_socket_permissions = 0700\n"
	"fsync = off\n"
	"synchronous_commit = off\n"
	"full_page_writes = off\n"
	"max_connections = 100\n"
	"max_locks_per_transaction = 256\n"
	"shared_buffers = 256MB\n"
	"work_mem = 16MB\n"
	"maintenance_work_mem = 256MB\n"
	"max_wal_size = 2GB\n"
	"timezone = 'UTC'\n"
	"log_timezone = 'UTC'\n"
	"logging_collector = off\n";

static int init_cluster(const struct pglocal *pl, struct diag *d)
{
	char *ver = xasprintf("%s/PG_VERSION", pl->data);
	char *ilog = xasprintf("%s/initdb.log", pl->state);
	char *conf = xasprintf("%s/postgresql.conf", pl->data);
	int rc = -1;
	FILE *f;

	if (access(ver, F_OK) == 0) {
		rc = 0;
		goto out;
	}
	const char *args[] = {"initdb", "-D", pl->data, "-U", PGLOCAL_USER,
			"-A",	  "trust", "-E", "UTF8", "--locale=C",
			"--no-sync", NULL};
	if (run_pg(pl, ilog, args, d) != 0) {
		diag_add(d, "initdb failed; see %s", ilog);
		goto out;
	}
	/* postgresql.conf belongs to the server's user; root may write it. */
	f = fopen(conf, "a");
	if (!f) {
		diag_add(d, "%s: %s", conf, strerror(errno));
		goto out;
	}
	fprintf(f, local_conf, pl->sock);
	if (fclose(f) != 0) {
		diag_add(d, "%s: %s", conf, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(ver);
	free(ilog);
	free(conf);
	return rc;
}

char *pglocal_conninfo(const struct pglocal *pl, const char *db)
{
	/* Paths from mkdir/realpath hold no quote; conninfo values are
	 * quoted anyway in case the state folder has a space. */
	return xasprintf("host='%s' port=%d user=%s dbname=%s", pl->sock,
			 PGLOCAL_PORT, PGLOCAL_USER, db);
}

int pglocal_running(const struct pglocal *pl)
{
	char *ci = pglocal_conninfo(pl, "postgres");
	int ok = PQping(ci) == PQPING_OK;

	free(ci);
	return ok;
}

static int ensure_database(const struct pglocal *pl, struct diag *d)
{
	char *ci = pglocal_conninfo(pl, "postgres");
	PGconn *c = PQconnectdb(ci);
	int rc = -1;
	PGresult *r;
	const char *params[1] = {PGLOCAL_DB};

	free(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		diag_add(d, "cannot connect to the local cluster: %s",
			 PQerrorMessage(c));
		goto out;
	}
	r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1,
			 NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		diag_add(d, "local cluster: %s", PQerrorMessage(c));
		PQclear(r);
		goto out;
	}
	if (PQntuples(r) == 1) {
		PQclear(r);
		rc = 0;
		goto out;
	}
	PQclear(r);
	/* A constant name: CREATE DATABASE takes no parameters. */
	r = PQexec(c, "CREATE DATABASE " PGLOCAL_DB);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		diag_add(d, "local cluster: %s", PQerrorMessage(c));
	} else {
		rc = 0;
	}
	PQclear(r);
out:
	PQfinish(c);
	return rc;
}

int pglocal_start(struct pglocal *pl, int *started, struct diag *d)
{
	*started = 0;
	if (make_dir(pl, pl->state, d) || make_link(pl, d) ||
	    init_cluster(pl, d) || make_dir(pl, pl->sock, d)) {
		return -1;
	}
	if (!pglocal_running(pl)) {
		const char *args[] = {"pg_ctl", "-D", pl->data, "-l", pl->logfile,
				"-w", "-t", "120", "start", NULL};
		char *clog = xasprintf("%s/pg_ctl.log", pl->state);
		int rc = run_pg(pl, clog, args, d);

		free(clog);
		if (rc != 0) {
			diag_add(d, "the local PostgreSQL did not start; see %s",
				 pl->logfile);
			return -1;
		}
		*started = 1;
	}
	return ensure_database(pl, d);
}

int pglocal_stop(struct pglocal *pl, int *stopped, struct diag *d)
{
	char *ver = xasprintf("%s/PG_VERSION", pl->data);
	int exists = access(ver, F_OK) == 0;

	free(ver);
	*stopped = 0;
	if (!exists) {
		return 0;
	}
	char *pid = xasprintf("%s/postmaster.pid", pl->data);
	int has_pid = access(pid, F_OK) == 0;

	free(pid);
	if (!has_pid) {
		return 0;
	}
	const char *args[] = {"pg_ctl", "-D", pl->data, "-m", "fast", "-w", "-t",
			"120", "stop", NULL};
	char *clog = xasprintf("%s/pg_ctl.log", pl->state);
	int rc = run_pg(pl, clog, args, d);

	free(clog);
	if (rc != 0) {
		diag_add(d, "pg_ctl stop failed; see %s/pg_ctl.log", pl->state);
		return -1;
	}
	*stopped = 1;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int pglocal_destroy(struct pglocal *pl, struct diag *d)
{
	int stopped;
	char target[PATH_MAX];
	ssize_t n;

	if (pglocal_stop(pl, &stopped, d) != 0) {
		return -1;
	}
	if (access(pl->state, F_OK) == 0 &&
	    nftw(pl->state, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		diag_add(d, "cannot remove %s: %s", pl->state, strerror(errno));
		return -1;
	}
	n = readlink(pl->link, target, sizeof(target) - 1);
	if (n >= 0) {
		unlink(pl->link);
	}
	return 0;
}

/* Single-quote s for a POSIX shell. */
static void shell_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'') {
			fputs("'\\''", f);
		} else {
			fputc(*s, f);
		}
	}
	fputc('\'', f);
}

void pglocal_env(const struct pglocal *pl, FILE *f)
{
	fputs("export PGHOST=", f);
	shell_quote(f, pl->sock);
	fprintf(f, "\nexport PGPORT=%d\nexport PGUSER=%s\nexport PGDATABASE=%s\n",
		PGLOCAL_PORT, PGLOCAL_USER, PGLOCAL_DB);
}
