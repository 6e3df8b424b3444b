/*
 * http — the HTTP server core of `releve serve`, on libmicrohttpd: a
 * pool of threads polling the connections (MHD_USE_INTERNAL_POLLING_THREAD
 * with MHD_OPTION_THREAD_POOL_SIZE), GET and HEAD only, no request bodies,
 * caps on the request target, the headers and the number of connections,
 * an inactivity timeout and a deadline for each request to arrive in
 * full, an access log line per request on stderr, and a
 * graceful stop (stop accepting, let the requests under way finish).
 *
 * The core knows nothing of the routes: it calls the handler once per
 * request with the whole request in hand, from one of the pool's threads
 * (several at once: the handler must be thread-safe), and sends what the
 * handler put in the response.  Requests the core refuses itself (405,
 * 413) never reach the handler.
 */
#ifndef RELEVE_HTTP_H
#define RELEVE_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "common/diag.h"

struct http_config {
	const char *listen;	  /* "ADDR:PORT" or "[ADDR6]:PORT" (0: any) */
	unsigned threads;	  /* polling threads */
	unsigned timeout;	  /* seconds of inactivity before closing */
	unsigned request_timeout; /* seconds for a whole request (0: none) */
	unsigned max_connections; /* at once, over all threads */
	size_t max_target;	  /* bytes of the request target */
	size_t max_headers;	  /* bytes of the request's headers */
	unsigned grace;		  /* seconds given to requests on stop */
	int access_log;		  /* a line per request on stderr */
};

struct MHD_Connection;

/* A request as the handler sees it (valid during the call only). */
struct http_request {
	const char *method; /* "GET" or "HEAD" */
	const char *path;   /* percent-decoded, without the query */
	struct MHD_Connection *conn;
};

/* A header's value, or NULL. */
const char *http_header(const struct http_request *rq, const char *name);
/*
 * Call fn for each query argument in order (value NULL for "?a"); stops
 * at fn's first non-zero return, which it returns.  Names and values are
 * percent-decoded.
 */
int http_args(const struct http_request *rq,
	      int (*fn)(void *ctx, const char *name, const char *value),
	      void *ctx);

/* What the handler answers. */
struct http_response {
	int status;
	const char *type;	 /* Content-Type (static string) */
	char *body;		 /* malloc'd; the core frees it */
	size_t len;
	unsigned retry_after;	 /* seconds, 0: no Retry-After */
	char disposition[128];	 /* Content-Disposition, "" for none */
	int cacheable;		 /* public, max-age=60; else no-store */
	char customer[72];	 /* for the access log ("" : none) */
	int route;		 /* for the done callback; -1: none */
};

/* The body {"error": {"code": code, "message": ...}} with status. */
void http_error(struct http_response *r, int status, const char *code,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* doc (reference stolen) as the JSON body, status. */
void http_json(struct http_response *r, int status, json_t *doc);

typedef void (*http_handler)(void *ctx, const struct http_request *rq,
			     struct http_response *resp);
/* Called after each response is sent or the connection dropped, with
 * the handler's route (-1 when the core answered itself) and the time
 * since the request line arrived. */
typedef void (*http_done)(void *ctx, int route, int status, double seconds);

struct http_server;

/* Bind and start serving; NULL with a message in d. */
struct http_server *http_start(const struct http_config *cfg, http_handler h,
			       http_done done, void *ctx, struct diag *d);
/* The address actually bound, "ADDR:PORT" (port 0 resolved). */
const char *http_bound(const struct http_server *s);
/* Requests being handled right now. */
unsigned http_in_flight(const struct http_server *s);
/* Connections cut so far for not sending a whole request in time. */
unsigned long http_cut(const struct http_server *s);
/*
 * Stop accepting connections, wait (up to cfg->grace seconds) for the
 * requests being handled to be answered, then close everything and free
 * s.  Returns the number of requests still under way when the grace ran
 * out (0: a clean stop).  NULL is accepted.
 */
unsigned http_stop(struct http_server *s);

#endif
