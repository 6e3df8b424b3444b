/*
 * token — make, list, revoke and check HTTP API tokens.  Tokens are 32
 * random bytes from getrandom(2) in base64url with the prefix "rlv_" (so
 * that secret scanners and operators recognise them); only their SHA-256
 * is stored, and a presented token is hashed and compared with the stored
 * hash in constant time.  The lookup by hash itself is an index search:
 * its timing can only tell about hashes of random tokens, which is no
 * help in guessing one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/db.h"
#include "common/dbprep.h"
#include "common/sha256.h"
#include "common/xalloc.h"
#include "token.h"

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int token_wellformed(const char *s)
{
	size_t plen = strlen(TOKEN_PREFIX);

	if (!s || strlen(s) != TOKEN_LEN || strncmp(s, TOKEN_PREFIX, plen)) {
		return 0;
	}
	for (s += plen; *s; s++) {
		if (!strchr(b64url, *s)) {
			return 0;
		}
	}
	return 1;
}

static int random_bytes(unsigned char *p, size_t n, struct diag *d)
{
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			diag_add(d, "getrandom: %s", strerror(errno));
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* 32 random bytes as "rlv_" + 43 base64url characters (no padding). */
static int token_generate(char out[TOKEN_LEN + 1], struct diag *d)
{
	unsigned char b[33];
	char *o = out;

	if (random_bytes(b, 32, d) != 0) {
		return -1;
	}
	b[32] = 0;
	memcpy(o, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	o += strlen(TOKEN_PREFIX);
	/* 33 bytes = 11 groups of 3 -> 44 characters; the last one only
	 * carries the zero padding byte's bits, so 43 are kept. */
	for (int i = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 |
			     b[i + 2];

		*o++ = b64url[(v >> 18) & 63];
		*o++ = b64url[(v >> 12) & 63];
		*o++ = b64url[(v >> 6) & 63];
		*o++ = b64url[v & 63];
	}
	out[TOKEN_LEN] = '\0';
	return 0;
}

int token_create(PGconn *c, const char *customer, const char *name,
		 int admin, const char *expires, char out[TOKEN_LEN + 1],
		 int64_t *id, struct diag *d)
{
	char hash[2 * SHA256_LEN + 1];
	const char *p[5];
	PGresult *r;

	if (customer) {
		p[0] = customer;
		r = db_exec(c, d, "SELECT 1 FROM customers WHERE id = $1", 1,
			    p);
		if (!r) {
			return -1;
		}
		if (PQntuples(r) == 0) {
			PQclear(r);
			diag_add(d, "no customer '%s'", customer);
			return 1;
		}
		PQclear(r);
	}
	if (token_generate(out, d) != 0) {
		return -1;
	}
	sha256_hex(out, TOKEN_LEN, hash);
	p[0] = customer;
	p[1] = name;
	p[2] = admin ? "t" : "f";
	p[3] = hash;
	p[4] = expires;
	r = db_exec(c, d,
		    "INSERT INTO api_tokens (customer_id, name, admin, hash,"
		    " expires_on) VALUES ($1, $2, $3::boolean, $4, $5::date)"
		    " RETURNING id",
		    5, p);
	if (!r) {
		memset(out, 0, TOKEN_LEN + 1);
		return -1;
	}
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

int token_list(PGconn *c, struct token_info **out, size_t *n,
	       struct diag *d)
{
	PGresult *r = db_exec(
		c, d,
		"SELECT id, customer_id, name, admin::int AS admin,"
		" to_char(created_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created,"
		" expires_on::text AS expires,"
		" to_char(revoked_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked,"
		" to_char(last_used_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_used"
		" FROM api_tokens ORDER BY id",
		0, NULL);
	size_t m;

	*out = NULL;
	*n = 0;
	if (!r) {
		return -1;
	}
	m = (size_t)PQntuples(r);
	*out = xcalloc(m ? m : 1, sizeof(**out));
	for (size_t i = 0; i < m; i++) {
		struct token_info *t = &(*out)[i];

		t->id = strtoll(db_get(r, (int)i, "id"), NULL, 10);
		t->customer = dup_or_null(db_get(r, (int)i, "customer_id"));
		t->name = dup_or_null(db_get(r, (int)i, "name"));
		t->admin = !strcmp(db_get(r, (int)i, "admin"), "1");
		t->created = dup_or_null(db_get(r, (int)i, "created"));
		t->expires = dup_or_null(db_get(r, (int)i, "expires"));
		t->revoked = dup_or_null(db_get(r, (int)i, "revoked"));
		t->last_used = dup_or_null(db_get(r, (int)i, "last_used"));
	}
	*n = m;
	PQclear(r);
	return 0;
}

void token_info_free(struct token_info *t, size_t n)
{
	if (!t) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		free(t[i].customer);
		free(t[i].name);
		free(t[i].created);
		free(t[i].expires);
		free(t[i].revoked);
		free(t[i].last_used);
	}
	free(t);
}

int token_revoke(PGconn *c, int64_t id, struct diag *d)
{
	char ids[24];
	const char *p[1] = { ids };
	PGresult *r;
	int rc;

	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	r = db_exec(c, d,
		    "SELECT (revoked_at IS NOT NULL)::int AS gone FROM"
		    " api_tokens WHERE id = $1::bigint FOR UPDATE",
		    1, p);
	if (!r) {
		return -1;
	}
	if (PQntuples(r) == 0) {
		rc = 1;
	} else if (!strcmp(PQgetvalue(r, 0, 0), "1")) {
		rc = 2;
	} else {
		rc = db_cmd(c, d,
			    "UPDATE api_tokens SET revoked_at = now()"
			    " WHERE id = $1::bigint AND revoked_at IS NULL",
			    1, p);
	}
	PQclear(r);
	return rc;
}

int token_check(PGconn *c, const char *token, struct token_auth *a,
		enum token_status *st, struct diag *d)
{
	char hash[2 * SHA256_LEN + 1];
	const char *p[1] = { hash };
	const char *stored;
	PGresult *r;

	memset(a, 0, sizeof(*a));
	*st = TOKEN_UNKNOWN;
	if (!token_wellformed(token)) {
		return 0;
	}
	sha256_hex(token, TOKEN_LEN, hash);
	/* Prepared: it runs on every authenticated request. */
	r = db_prepared(c, d, "token_check",
		    "SELECT id, hash, customer_id, admin::int AS admin,"
		    " (revoked_at IS NOT NULL)::int AS revoked,"
		    " (expires_on IS NOT NULL AND"
		    "  expires_on < releve_billing_day(now()))::int AS expired"
		    " FROM api_tokens WHERE hash = $1",
		    1, p);
	if (!r) {
		return -1;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	stored = db_get(r, 0, "hash");
	if (strlen(stored) != sizeof(hash) - 1 ||
	    !sha256_equal(stored, hash, sizeof(hash) - 1)) {
		PQclear(r);
		return 0;
	}
	if (!strcmp(db_get(r, 0, "revoked"), "1")) {
		*st = TOKEN_REVOKED;
	} else if (!strcmp(db_get(r, 0, "expired"), "1")) {
		*st = TOKEN_EXPIRED;
	} else {
		const char *cu = db_get(r, 0, "customer_id");

		*st = TOKEN_VALID;
		a->id = strtoll(db_get(r, 0, "id"), NULL, 10);
		a->admin = !strcmp(db_get(r, 0, "admin"), "1");
		snprintf(a->customer, sizeof(a->customer), "%s", cu ? cu : "");
	}
	PQclear(r);
	return 0;
}

int token_touch(PGconn *c, int64_t id, struct diag *d)
{
	char ids[24];
	const char *p[1] = { ids };

	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	return db_cmd(c, d,
		      "UPDATE api_tokens SET last_used_at = now()"
		      " WHERE id = $1::bigint",
		      1, p);
}
