/*
 * api — the routes of `releve serve` (http.h is the transport): bearer
 * token authentication (token.h), a per-token rate limit, a pool of
 * PostgreSQL connections (libpq connections are not shared between
 * threads: each request holds one for its duration), the JSON and PDF
 * answers, and the Prometheus metrics.
 *
 *   GET /healthz                   public: 200 when the database answers
 *   GET /v1/pricesheet.pdf[?lang=] public: the price sheet, cached 60 s
 *   GET /v1/usage?from=&to=&by=    as `releve usage --json`
 *   GET /v1/quota                  today's count, quota and state
 *   GET /v1/invoices               issued invoices and credit notes
 *   GET /v1/invoices/NUMBER[.pdf]  one of them (JSON or PDF)
 *   GET /metrics                   admin tokens only
 *
 * Admin tokens name the customer with ?customer=ID; customer tokens see
 * only their own customer, and a customer parameter from them is a 403.
 */
#ifndef RELEVE_API_H
#define RELEVE_API_H

#include <libpq-fe.h>

#include "common/diag.h"
#include "http.h"

struct api_config {
	const char *conninfo; /* for the pool's connections (NULL: PG*) */
	unsigned pool;	      /* connections at most */
	unsigned rate;	      /* requests per second per token (0: no limit) */
	unsigned burst;	      /* bucket size */
	const char *today;    /* YYYY-MM-DD for tests (RELEVE_TODAY), or NULL */
};

struct api;

/* first: an open connection (schema checked) the pool takes over. */
struct api *api_new(const struct api_config *cfg, PGconn *first);
/* Closes the pool's connections.  NULL is accepted. */
void api_free(struct api *a);
/*
 * Open every pooled connection and run the hot path once on each (the
 * reference data, a token check, a month-to-date usage query of some
 * customer), so that the first requests do not pay for connecting,
 * preparing statements and warming PostgreSQL's caches.  Errors are only
 * logged: requests then open connections themselves.
 */
void api_warm(struct api *a);

/* The http_handler and http_done of http.h; ctx is the struct api. */
void api_handle(void *ctx, const struct http_request *rq,
		struct http_response *resp);
void api_done(void *ctx, int route, int status, double seconds);

#endif
