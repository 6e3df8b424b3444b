/*
 * http — libmicrohttpd under releve's rules.  See http.h.
 *
 * Each request gets a struct req from the URI log callback (MHD calls it
 * as soon as the request line is read, before the headers): it holds the
 * start time and the target's length.  The access handler is called once
 * the headers are in; it answers at that first call (no body is ever
 * read: a request that announces one is refused with 413 and MHD closes
 * the connection after the answer).  The completion callback logs the
 * line and frees the struct.
 *
 * A connection is also given a deadline for each request: its request
 * line and headers must be in within request_timeout seconds of the
 * connection's opening or of the previous response's end, or a watchdog
 * thread shuts the socket down (MHD then closes the connection).  MHD's
 * own timeout is one of inactivity only: a client trickling a byte every
 * few seconds would hold a connection for ever.  The connections are
 * listed from MHD's connection notifications; a connection is removed
 * from the list (under the lock) before MHD closes its socket, so the
 * watchdog never shuts down a descriptor reused since.
 *
 * Access log lines carry the path only: the query string may hold
 * anything a client put there, and tokens travel in the Authorization
 * header, which is never logged.  Bytes outside printable ASCII are
 * written as %XX so that a path cannot forge a log line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "http.h"

/* A connection under the request deadline (see above). */
struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	struct timespec since; /* the opening, or the last response's end */
	int busy;	       /* a request's headers are in, until it ends */
	int cut;	       /* shut down by the watchdog */
};

struct http_server {
	struct http_config cfg;
	pthread_mutex_t mu; /* the connections' list and their fields */
	struct conn_track *conns;
	pthread_t watchdog;
	int watching;
	int stopping; /* under mu */
	pthread_cond_t wake;
	atomic_ulong cut;
	struct MHD_Daemon *mhd;
	http_handler handler;
	http_done done;
	void *ctx;
	atomic_uint in_flight;
	char bound[80];
	struct sockaddr_storage addr;
};

struct req {
	struct timespec t0;
	size_t target_len;
	int seen;	/* the headers were seen (counted in flight) */
	int answered;	/* a response is queued */
	int status;	/* 0: no answer queued */
	int route;
	char method[12];
	char *path;
	char customer[72];
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static struct conn_track *track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

/* busy: the request's headers are in; else its response ended. */
static void track_mark(struct http_server *s, struct MHD_Connection *conn,
		       int busy)
{
	struct conn_track *t = track_of(conn);

	if (!t) {
		return;
	}
	pthread_mutex_lock(&s->mu);
	t->busy = busy;
	if (!busy) {
		clock_gettime(CLOCK_MONOTONIC, &t->since);
	}
	pthread_mutex_unlock(&s->mu);
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct conn_track *t = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *i = MHD_get_connection_info(
			conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (!i) {
			return;
		}
		t = xcalloc(1, sizeof(*t));
		t->fd = i->connect_fd;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_lock(&s->mu);
		t->next = s->conns;
		if (s->conns) {
			s->conns->prev = t;
		}
		s->conns = t;
		pthread_mutex_unlock(&s->mu);
		*socket_context = t;
	} else if (t) {
		pthread_mutex_lock(&s->mu);
		if (t->prev) {
			t->prev->next = t->next;
		} else {
			s->conns = t->next;
		}
		if (t->next) {
			t->next->prev = t->prev;
		}
		pthread_mutex_unlock(&s->mu);
		free(t);
		*socket_context = NULL;
	}
}

/* Every quarter of a second, the connections past their deadline are
 * shut down. */
static void *watch(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		struct timespec until;

		for (struct conn_track *t = s->conns; t; t = t->next) {
			if (!t->busy && !t->cut &&
			    since(&t->since) >= (double)s->cfg.request_timeout) {
				shutdown(t->fd, SHUT_RDWR);
				t->cut = 1;
				atomic_fetch_add(&s->cut, 1);
				if (s->cfg.access_log) {
					fprintf(stderr,
						"releve serve: no whole request"
						" within %u s: connection"
						" closed\n",
						s->cfg.request_timeout);
				}
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&s->wake, &s->mu, &until);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

const char *http_header(const struct http_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

struct args_ctx {
	int (*fn)(void *ctx, const char *name, const char *value);
	void *ctx;
	int rc;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	struct args_ctx *a = cls;

	(void)kind;
	a->rc = a->fn(a->ctx, key, value);
	return a->rc ? MHD_NO : MHD_YES;
}

int http_args(const struct http_request *rq,
	      int (*fn)(void *ctx, const char *name, const char *value),
	      void *ctx)
{
	struct args_ctx a = { fn, ctx, 0 };

	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, each_arg,
				  &a);
	return a.rc;
}

void http_json(struct http_response *r, int status, json_t *doc)
{
	r->status = status;
	r->type = "application/json; charset=utf-8";
	free(r->body);
	r->body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!r->body) {
		abort(); /* out of memory: jansson's only failure here */
	}
	r->len = strlen(r->body);
	json_decref(doc);
}

void http_error(struct http_response *r, int status, const char *code,
		const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	http_json(r, status,
		  json_pack("{s:{s:s, s:s}}", "error", "code", code, "message",
			    msg));
	free(msg);
}

/* The sum of the header lines' sizes, as they came ("Name: value\r\n"). */
static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/* The core's own refusals: methods, sizes, bodies.  0: none. */
static void check_request(const struct http_server *s, const struct req *q,
			  struct MHD_Connection *conn,
			  struct http_response *resp)
{
	size_t hdr = 0;
	const char *cl, *te;

	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0) {
		http_error(resp, 405, "method_not_allowed",
			   "only GET and HEAD are served");
		return;
	}
	if (q->target_len > s->cfg.max_target) {
		http_error(resp, 413, "too_large",
			   "the request target is longer than %zu bytes",
			   s->cfg.max_target);
		return;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, &hdr);
	if (hdr > s->cfg.max_headers) {
		http_error(resp, 413, "too_large",
			   "the request headers exceed %zu bytes",
			   s->cfg.max_headers);
		return;
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te || (cl && strspn(cl, "0") != strlen(cl))) {
		http_error(resp, 413, "too_large",
			   "request bodies are not accepted");
	}
}

static void set_header(struct MHD_Response *r, const char *name,
		       const char *value)
{
	if (MHD_add_response_header(r, name, value) != MHD_YES) {
		abort(); /* only out of memory or a bad header name */
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req *q = *con_cls;
	struct http_response resp;
	struct MHD_Response *r;
	enum MHD_Result ok;

	(void)version;
	(void)upload_data;
	if (!q) {
		/* No URI callback ran (cannot happen with MHD 0.9.75). */
		q = xcalloc(1, sizeof(*q));
		clock_gettime(CLOCK_MONOTONIC, &q->t0);
		q->target_len = strlen(url);
		*con_cls = q;
	}
	if (q->answered) {
		/* A body after the answer: discard (MHD closes after). */
		*upload_data_size = 0;
		return MHD_YES;
	}
	memset(&resp, 0, sizeof(resp));
	resp.route = -1;
	if (!q->seen) {
		/* First call: the headers are in.  Refusals are answered now
		 * (MHD then closes the connection: a body may follow that
		 * nobody reads); the rest waits for the second call, the end
		 * of the (empty) request, so that the connection can be kept
		 * alive. */
		q->seen = 1;
		atomic_fetch_add(&s->in_flight, 1);
		track_mark(s, conn, 1);
		snprintf(q->method, sizeof(q->method), "%s", method);
		q->path = xstrdup(url);
		check_request(s, q, conn, &resp);
		if (resp.status == 0) {
			return MHD_YES;
		}
	} else if (*upload_data_size != 0) {
		/* Cannot happen: bodies were refused at the first call. */
		*upload_data_size = 0;
		return MHD_YES;
	} else {
		struct http_request rq = { method, url, conn };

		s->handler(s->ctx, &rq, &resp);
		if (resp.status == 0) {
			http_error(&resp, 500, "internal", "no answer");
		}
	}
	q->answered = 1;
	q->status = resp.status;
	q->route = resp.route;
	memcpy(q->customer, resp.customer, sizeof(q->customer));
	q->customer[sizeof(q->customer) - 1] = '\0';

	r = MHD_create_response_from_buffer(resp.len, resp.body,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(resp.body);
		return MHD_NO;
	}
	set_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		   resp.type ? resp.type : "application/octet-stream");
	set_header(r, "X-Content-Type-Options", "nosniff");
	set_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		   resp.cacheable ? "public, max-age=60" : "no-store");
	if (resp.status == 401) {
		set_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			   "Bearer realm=\"releve\"");
	}
	if (resp.status == 405) {
		set_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	}
	if (resp.retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", resp.retry_after);
		set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (resp.disposition[0]) {
		set_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
			   resp.disposition);
	}
	if (resp.status == 413 || resp.status == 405) {
		/* A body may follow that we will not read. */
		set_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	}
	ok = MHD_queue_response(conn, (unsigned)resp.status, r);
	MHD_destroy_response(r);
	return ok;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *q = xcalloc(1, sizeof(*q));

	(void)cls;
	(void)conn;
	clock_gettime(CLOCK_MONOTONIC, &q->t0);
	q->target_len = strlen(uri);
	q->route = -1;
	return q;
}

/* s as %XX-escaped printable ASCII, at most max bytes of s. */
static void log_escape(char *out, size_t outlen, const char *s, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i;

	for (i = 0; i < max && s[i] && o + 4 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '"') {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (s[i] && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static const char *end_reason(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return NULL;
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "read error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client abort";
	default:
		return "error";
	}
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct req *q = *con_cls;
	double secs;

	track_mark(s, conn, 0);
	if (!q) {
		return;
	}
	*con_cls = NULL;
	secs = since(&q->t0);
	if (s->cfg.access_log) {
		char when[32], path[800], meth[40], line[1024];
		const char *why = end_reason(toe);
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		log_escape(path, sizeof(path), q->path ? q->path : "-", 200);
		log_escape(meth, sizeof(meth), q->method[0] ? q->method : "-",
			   10);
		char st[8] = "-";

		if (q->status) {
			snprintf(st, sizeof(st), "%d", q->status);
		}
		snprintf(line, sizeof(line),
			 "%s.%03ldZ %s %s %s %.3fms customer=%s%s%s\n", when,
			 now.tv_nsec / 1000000, meth, path, st,
			 secs * 1000.0, q->customer[0] ? q->customer : "-",
			 why ? " " : "", why ? why : "");
		fputs(line, stderr);
	}
	if (s->done && q->seen) {
		s->done(s->ctx, q->route, q->status, secs);
	}
	if (q->seen) {
		atomic_fetch_sub(&s->in_flight, 1);
	}
	free(q->path);
	free(q);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n') {
		msg[--n] = '\0';
	}
	fprintf(stderr, "releve serve: libmicrohttpd: %s\n", msg);
}

/* "ADDR:PORT" or "[ADDR]:PORT" into s->addr. */
static int parse_listen(struct http_server *s, const char *listen,
			struct diag *d)
{
	char host[64];
	const char *colon, *port;
	struct addrinfo hints, *ai = NULL;
	char *end;
	long p;
	int rc;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':' ||
		    (size_t)(close - listen - 1) >= sizeof(host)) {
			diag_add(d, "--listen: '%s' is not [ADDR]:PORT", listen);
			return -1;
		}
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
			diag_add(d, "--listen: '%s' is not ADDR:PORT", listen);
			return -1;
		}
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		port = colon + 1;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (!*port || *end || errno || p < 0 || p > 65535) {
		diag_add(d, "--listen: '%s' is not a port number", port);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		diag_add(d, "--listen: '%s' is not a numeric address: %s",
			 host, gai_strerror(rc));
		return -1;
	}
	memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static void free_server(struct http_server *s)
{
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct http_server *http_start(const struct http_config *cfg, http_handler h,
			       http_done done, void *ctx, struct diag *d)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	s->cfg = *cfg;
	s->handler = h;
	s->done = done;
	s->ctx = ctx;
	atomic_init(&s->in_flight, 0);
	atomic_init(&s->cut, 0);
	if (parse_listen(s, cfg->listen, d) != 0) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (s->addr.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) {
		flags |= MHD_USE_EPOLL;
	} else {
		flags |= MHD_USE_POLL;
	}
	s->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr,
		MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout,
		MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		/* Room for the caps below to be checked (and answered in
		 * JSON) before MHD's own limits answer 414/431. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(cfg->max_target + cfg->max_headers + 16384),
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u, MHD_OPTION_END);
	if (!s->mhd) {
		diag_add(d, "cannot listen on %s: %s", cfg->listen,
			 errno ? strerror(errno) : "libmicrohttpd refused");
		free_server(s);
		return NULL;
	}
	if (cfg->request_timeout) {
		int e = pthread_create(&s->watchdog, NULL, watch, s);

		if (e) {
			diag_add(d, "cannot start the request watchdog: %s",
				 strerror(e));
			MHD_stop_daemon(s->mhd);
			free_server(s);
			return NULL;
		}
		s->watching = 1;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : 0;
	if (s->addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6,
			  &((struct sockaddr_in6 *)&s->addr)->sin6_addr, host,
			  sizeof(host));
		snprintf(s->bound, sizeof(s->bound), "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&s->addr)->sin_addr,
			  host, sizeof(host));
		snprintf(s->bound, sizeof(s->bound), "%s:%u", host, port);
	}
	return s;
}

const char *http_bound(const struct http_server *s)
{
	return s->bound;
}

unsigned long http_cut(const struct http_server *s)
{
	return atomic_load(&((struct http_server *)s)->cut);
}

unsigned http_in_flight(const struct http_server *s)
{
	return atomic_load(&((struct http_server *)s)->in_flight);
}

unsigned http_stop(struct http_server *s)
{
	struct timespec t0;
	unsigned left;
	MHD_socket fd;

	if (!s) {
		return 0;
	}
	/* Stop accepting: the listening socket is handed back to us, closed
	 * here, so new connections are refused at once. */
	fd = MHD_quiesce_daemon(s->mhd);
	if (fd != MHD_INVALID_SOCKET) {
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = atomic_load(&s->in_flight)) > 0 &&
	       since(&t0) < (double)s->cfg.grace) {
		struct timespec nap = { 0, 10 * 1000 * 1000 };

		nanosleep(&nap, NULL);
	}
	if (s->watching) {
		pthread_mutex_lock(&s->mu);
		s->stopping = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->watchdog, NULL);
	}
	MHD_stop_daemon(s->mhd);
	free_server(s);
	return left;
}
