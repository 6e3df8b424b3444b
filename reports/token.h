/*
 * token — bearer tokens of the HTTP API (sql/008_tokens.sql).
 *
 * A token is "rlv_" followed by 43 base64url characters: 32 bytes from
 * getrandom(2).  It is shown once, when made; the database keeps only its
 * SHA-256 (hex).  A customer token is bound to one customer; an admin
 * token has no customer and sees every customer and /metrics.
 *
 * Errors go to the caller's diag; nothing is printed.  Strings returned in
 * structs are owned by them (token_info_free).
 */
#ifndef RELEVE_TOKEN_H
#define RELEVE_TOKEN_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"

#define TOKEN_PREFIX "rlv_"
#define TOKEN_LEN 47 /* strlen("rlv_") + 43 */

/* 1 when s has the shape of a token (prefix, length, alphabet). */
int token_wellformed(const char *s);

/*
 * Make and store a token: for customer (admin 0) or an admin token
 * (customer NULL, admin 1); name and expires ("YYYY-MM-DD", the last
 * day of validity in the billing time zone) may be NULL.  0 with the
 * token in out and its id in *id; 1 when the customer does not exist;
 * -1 on error.
 */
int token_create(PGconn *c, const char *customer, const char *name,
		 int admin, const char *expires, char out[TOKEN_LEN + 1],
		 int64_t *id, struct diag *d);

/* One stored token, never the token itself.  Absent values are NULL. */
struct token_info {
	int64_t id;
	char *customer, *name;
	int admin;
	char *created, *expires, *revoked, *last_used;
};

/* Every token, by id.  0 with *out (free with token_info_free), -1. */
int token_list(PGconn *c, struct token_info **out, size_t *n,
	       struct diag *d);
void token_info_free(struct token_info *t, size_t n);

/* 0 revoked now, 1 no such token, 2 already revoked, -1 error. */
int token_revoke(PGconn *c, int64_t id, struct diag *d);

enum token_status {
	TOKEN_VALID,
	TOKEN_UNKNOWN, /* malformed, or no such hash */
	TOKEN_EXPIRED,
	TOKEN_REVOKED,
};

/* What a valid token grants. */
struct token_auth {
	int64_t id;
	int admin;
	char customer[72]; /* "" for an admin token */
};

/*
 * Check a presented token: 0 with *st (and *a when TOKEN_VALID), -1 on a
 * database error.  The stored hash is compared in constant time.
 */
int token_check(PGconn *c, const char *token, struct token_auth *a,
		enum token_status *st, struct diag *d);
/* Record that token id was used now. */
int token_touch(PGconn *c, int64_t id, struct diag *d);

#endif
