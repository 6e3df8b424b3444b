/*
 * test_http — `releve serve` over real HTTP on loopback, against the
 * harness database: every route, every error status, a customer token
 * reaching for another customer's data (parameters, path tricks),
 * expired and revoked tokens, oversized and malformed requests, the rate
 * limit, a database connection lost and regained, a slow client, a
 * trickling client cut at the request deadline, the connection cap, the
 * paths of docs/openapi.yaml, and a graceful stop on SIGTERM with a
 * request under way.  Also SHA-256 against FIPS vectors and PostgreSQL's
 * sha256(), and `releve token`.
 *
 * The server runs as a child process (RELEVE_BIN, port 0: it prints the
 * port it got), its stderr (the access log) in a file that is checked
 * for tokens and query strings.  The client is a few lines over sockets.
 * Fixtures: the examples, C-1002's first week of October 2026 (today is
 * fixed at 2026-10-07 with RELEVE_TODAY) and October's invoices issued
 * with `releve invoice run --issue`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/sha256.h"
#include "testutil.h"

static PGconn *db;

struct server {
	pid_t pid;
	int port;
	char log[512];
};

static struct server srv;  /* the main one */
static char tok_c1002[64], tok_c1004[64], tok_admin[64], tok_expired[64],
	tok_revoked[64];
static char inv_c1002[40], inv_c1004[40];

/* ---- the tiny client ---- */

struct resp {
	int status;
	char *head; /* status line and headers */
	char *body;
	size_t blen;
};

static void resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int connect_to(int port)
{
	struct sockaddr_in a;
	struct timeval tv = { 20, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return; /* the server may close early (413) */
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Read the whole answer (the server closes: Connection: close). */
static void read_resp(int fd, struct resp *r)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap), *sep;

	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	memset(r, 0, sizeof(*r));
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
		r->status = -1;
	}
	sep = strstr(buf, "\r\n\r\n");
	if (sep) {
		r->head = strndup(buf, (size_t)(sep - buf));
		r->blen = len - (size_t)(sep + 4 - buf);
		r->body = malloc(r->blen + 1);
		memcpy(r->body, sep + 4, r->blen);
		r->body[r->blen] = '\0';
	} else {
		r->head = strdup(buf);
		r->body = strdup("");
	}
	free(buf);
}

static int raw(int port, const char *req, size_t n, struct resp *r)
{
	int fd = connect_to(port);

	if (fd < 0) {
		return -1;
	}
	send_all(fd, req, n);
	read_resp(fd, r);
	close(fd);
	return r->status;
}

/* GET path with token (NULL: none) and extra header lines ("" none). */
static int req(int port, const char *method, const char *path,
	       const char *token, const char *extra, struct resp *r)
{
	char buf[70000];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		     "Connection: close\r\n%s%s%s%s\r\n",
		     method, path, token ? "Authorization: Bearer " : "",
		     token ? token : "", token ? "\r\n" : "",
		     extra ? extra : "");
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return raw(port, buf, (size_t)n, r);
}

static int get(const char *path, const char *token, struct resp *r)
{
	return req(srv.port, "GET", path, token, NULL, r);
}

/* The error document of r: its code (static copy), checked in shape. */
static const char *error_code(const struct resp *r)
{
	static char code[64];
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je), *e, *c, *m;

	assert_non_null(j);
	e = json_object_get(j, "error");
	assert_non_null(e);
	c = json_object_get(e, "code");
	m = json_object_get(e, "message");
	assert_true(json_is_string(c));
	assert_true(json_is_string(m));
	assert_true(strlen(json_string_value(m)) > 0);
	snprintf(code, sizeof(code), "%s", json_string_value(c));
	json_decref(j);
	assert_non_null(strstr(r->head, "application/json"));
	return code;
}

static const char *header(const struct resp *r, const char *name)
{
	static char val[256];
	size_t n = strlen(name);

	for (const char *p = r->head; (p = strstr(p, "\r\n")); ) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1, *end;

			v += strspn(v, " ");
			end = strstr(v, "\r\n");
			snprintf(val, sizeof(val), "%.*s",
				 (int)(end ? end - v : (long)strlen(v)), v);
			return val;
		}
	}
	return NULL;
}

/* ---- the server ---- */

static const char *bin(void)
{
	const char *b = getenv("RELEVE_BIN");

	return b && *b ? b : "./releve";
}

static void server_start(struct server *s, const char *name,
			 const char *const *extra)
{
	const char *argv[32] = { bin(), "serve", "--listen", "127.0.0.1:0",
				 "--timeout", "2", "--grace", "20" };
	int n = 8;

	for (int i = 0; extra && extra[i]; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	snprintf(s->log, sizeof(s->log), "%s/%s.log", test_tmpdir(), name);
	s->port = 0;
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDWR);

		dup2(fd, 2);
		dup2(nul, 1);
		dup2(nul, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* Wait for "listening on 127.0.0.1:PORT" (ASan builds are slow). */
	for (int i = 0; i < 600 && s->port == 0; i++) {
		char *log = test_read_file(s->log);
		const char *p = log ? strstr(log, "listening on 127.0.0.1:")
				    : NULL;

		if (p) {
			s->port = atoi(p + strlen("listening on 127.0.0.1:"));
		}
		free(log);
		if (s->port == 0) {
			int st;

			assert_int_equal(waitpid(s->pid, &st, WNOHANG), 0);
			usleep(50000);
		}
	}
	assert_true(s->port > 0);
}

/* Exit status after SIGTERM, waiting up to secs; -1: still running. */
static int server_wait(struct server *s, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		int st;
		pid_t p = waitpid(s->pid, &st, WNOHANG);

		if (p == s->pid) {
			s->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		}
		usleep(50000);
	}
	return -1;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		assert_int_equal(server_wait(s, 30), 0);
	}
}

/* ---- fixtures ---- */

/* `releve token create ARGS`: the token (last line), the id. */
static long make_token(char out[64], ...)
{
	const char *args[16] = { "token", "create" };
	char *o = NULL, *e = NULL, *last;
	size_t n = 2;
	long id;
	va_list ap;

	va_start(ap, out);
	while ((args[n] = va_arg(ap, const char *)) != NULL) {
		n++;
	}
	va_end(ap);
	assert_int_equal(test_runv(NULL, &o, &e, args), 0);
	/* "token N ..." or "admin token N ..." on the first line. */
	id = strtol(strstr(o, "token ") + 6, NULL, 10);
	assert_true(id > 0);

	while (strlen(o) && o[strlen(o) - 1] == '\n') {
		o[strlen(o) - 1] = '\0';
	}
	last = strrchr(o, '\n');
	last = last ? last + 1 : o;
	assert_int_equal(strlen(last), 47);
	assert_memory_equal(last, "rlv_", 4);
	snprintf(out, 64, "%s", last);
	free(o);
	free(e);
	return id;
}

static int setup(void **state)
{
	char *o = NULL, *e = NULL;
	char ids[24];
	long id;

	(void)state;
	db = testdb_open("http");
	testdb_load_examples(1);
	/* C-1002 (plan S: 100 recipients a day, warn at 80): the 7th is
	 * 110 recipients of which 20 local = 90, a warn day. */
	testdb_exec(db,
		"INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local,"
		" out_sent, out_bounced, out_deferred, out_expired) VALUES"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-01', 8,"
		"  80, 0, 78, 1, 1, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-06', 21,"
		"  201, 0, 199, 0, 2, 0),"
		" ('C-1002', 'tresorerie@jardins-faubourg.org', '2026-10-07',"
		"  11, 110, 20, 110, 0, 0, 0)");
	assert_int_equal(test_run(NULL, &o, &e, "invoice", "run", "--period",
				  "2026-10", "--issue", "--date", "2026-11-02",
				  NULL), 0);
	free(o);
	free(e);
	{
		char *n2 = testdb_value(db, "SELECT number FROM invoices WHERE"
					    " customer_id = 'C-1002' AND"
					    " number IS NOT NULL");
		char *n4 = testdb_value(db, "SELECT number FROM invoices WHERE"
					    " customer_id = 'C-1004' AND"
					    " number IS NOT NULL");

		assert_non_null(n2);
		assert_non_null(n4);
		snprintf(inv_c1002, sizeof(inv_c1002), "%s", n2);
		snprintf(inv_c1004, sizeof(inv_c1004), "%s", n4);
		free(n2);
		free(n4);
	}
	make_token(tok_c1002, "--customer", "C-1002", "--name", "panel",
		   NULL);
	make_token(tok_c1004, "--customer", "C-1004", NULL);
	make_token(tok_admin, "--admin", "--name", "ops", NULL);
	make_token(tok_expired, "--customer", "C-1002", "--expires",
		   "2020-01-31", NULL);
	id = make_token(tok_revoked, "--customer", "C-1002", NULL);
	snprintf(ids, sizeof(ids), "%ld", id);
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "revoke", ids,
				  NULL), 0);

	setenv("RELEVE_TODAY", "2026-10-07", 1);
	{
		const char *const extra[] = { "--threads", "4", "--rate",
					      "100000", "--burst", "100000",
					      NULL };

		server_start(&srv, "main", extra);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (srv.pid > 0) {
		kill(srv.pid, SIGTERM);
		server_wait(&srv, 30);
	}
	PQfinish(db);
	return 0;
}

/* ---- tests ---- */

static void test_sha256(void **state)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		      "7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
			 "61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419"
		  "db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhij"
		  "klmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037a"
		  "fee9d1" },
	};
	char hex[65], buf[200];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256_hex(v[i].in, strlen(v[i].in), hex);
		assert_string_equal(hex, v[i].hex);
	}
	/* Every length around the padding's block boundaries, against
	 * PostgreSQL's sha256(). */
	for (int n = 0; n <= 130; n++) {
		char ns[16];
		const char *p[1] = { ns };
		char *want;

		memset(buf, 'x', (size_t)n);
		sha256_hex(buf, (size_t)n, hex);
		snprintf(ns, sizeof(ns), "%d", n);
		want = testdb_value_p(db,
			"SELECT encode(sha256(convert_to(repeat('x', $1::int),"
			" 'UTF8')), 'hex')", 1, p);
		assert_string_equal(hex, want);
		free(want);
	}
	assert_true(sha256_equal("abc", "abc", 3));
	assert_false(sha256_equal("abc", "abd", 3));
}

static void test_token_cli(void **state)
{
	char *o = NULL, *e = NULL, hex[65];
	const char *p[1] = { hex };
	char *found;

	(void)state;
	/* Only the hash is stored, and it is the token's. */
	sha256_hex(tok_c1002, strlen(tok_c1002), hex);
	found = testdb_value_p(db, "SELECT customer_id FROM api_tokens"
				   " WHERE hash = $1", 1, p);
	assert_non_null(found);
	assert_string_equal(found, "C-1002");
	free(found);
	found = testdb_value(db, "SELECT count(*) FROM api_tokens WHERE"
				 " hash LIKE 'rlv_%'");
	assert_string_equal(found, "0");
	free(found);
	/* list never shows a token. */
	assert_int_equal(test_run(NULL, &o, &e, "token", "list", "--json",
				  NULL), 0);
	assert_null(strstr(o, "rlv_"));
	assert_non_null(strstr(o, "\"customer\": \"C-1004\""));
	assert_non_null(strstr(o, "\"expires\": \"2020-01-31\""));
	free(o);
	free(e);
	assert_int_equal(test_run(NULL, &o, &e, "token", "list", NULL), 0);
	assert_null(strstr(o, "rlv_"));
	free(o);
	free(e);
	/* Refusals. */
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "create", NULL),
			 2);
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "create",
				  "--admin", "--customer", "C-1002", NULL), 2);
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "create",
				  "--customer", "C-1002", "--expires",
				  "2026-02-30", NULL), 2);
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "create",
				  "--customer", "C-9999", NULL), 1);
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "revoke", "999",
				  NULL), 1);
	assert_int_equal(test_run(NULL, NULL, NULL, "token", "revoke", "x",
				  NULL), 2);
}

static json_t *body_json(const struct resp *r)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);

	assert_non_null(j);
	return j;
}

static void test_usage(void **state)
{
	struct resp r;
	char *o = NULL, *e = NULL;
	json_t *got, *want;

	(void)state;
	/* The same document as `releve usage --json` (month to date). */
	assert_int_equal(get("/v1/usage", tok_c1002, &r), 200);
	assert_non_null(strstr(r.head, "application/json"));
	assert_string_equal(header(&r, "Cache-Control"), "no-store");
	got = body_json(&r);
	assert_int_equal(test_run(NULL, &o, &e, "usage", "--customer",
				  "C-1002", "--json", NULL), 0);
	want = json_loads(o, 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(got, want));
	assert_string_equal(json_string_value(json_object_get(got, "from")),
			    "2026-10-01");
	assert_string_equal(json_string_value(json_object_get(got, "to")),
			    "2026-10-07");
	json_decref(got);
	json_decref(want);
	free(o);
	free(e);
	resp_free(&r);

	assert_int_equal(get("/v1/usage?from=2026-10-01&to=2026-10-03&by=day",
			     tok_c1002, &r), 200);
	got = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(got, "days")), 3);
	json_decref(got);
	resp_free(&r);
	assert_int_equal(get("/v1/usage?by=mailbox", tok_c1002, &r), 200);
	assert_non_null(strstr(r.body, "tresorerie@jardins-faubourg.org"));
	resp_free(&r);
	assert_int_equal(get("/v1/usage?by=domain", tok_c1002, &r), 200);
	resp_free(&r);
	/* Admin tokens name the customer. */
	assert_int_equal(get("/v1/usage?customer=C-1004", tok_admin, &r),
			 200);
	got = body_json(&r);
	assert_string_equal(
		json_string_value(json_object_get(got, "customer")), "C-1004");
	json_decref(got);
	resp_free(&r);
	/* HEAD: the headers alone. */
	assert_int_equal(req(srv.port, "HEAD", "/v1/usage", tok_c1002, NULL,
			     &r), 200);
	assert_int_equal(r.blen, 0);
	resp_free(&r);
}

static void test_quota(void **state)
{
	struct resp r;
	json_t *j;

	(void)state;
	assert_int_equal(get("/v1/quota", tok_c1002, &r), 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "day")),
			    "2026-10-07");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 90);
	assert_int_equal(json_integer_value(json_object_get(j, "quota")),
			 100);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
			    "warn");
	assert_string_equal(json_string_value(json_object_get(j, "plan")),
			    "S");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(j, "month_to_date"),
				 "blocked_days")),
			 1);
	json_decref(j);
	resp_free(&r);
	assert_int_equal(get("/v1/quota?customer=C-1002", tok_admin, &r), 200);
	resp_free(&r);
}

static void test_invoices(void **state)
{
	struct resp r, r2;
	char path[128];
	json_t *j, *arr;

	(void)state;
	assert_int_equal(get("/v1/invoices", tok_c1002, &r), 200);
	j = body_json(&r);
	arr = json_object_get(j, "invoices");
	assert_true(json_array_size(arr) >= 1);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		assert_string_equal(json_string_value(json_object_get(
					    json_array_get(arr, i), "customer")),
				    "C-1002");
	}
	json_decref(j);
	resp_free(&r);

	snprintf(path, sizeof(path), "/v1/invoices/%s", inv_c1002);
	assert_int_equal(get(path, tok_c1002, &r), 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "number")),
			    inv_c1002);
	json_decref(j);
	resp_free(&r);
	snprintf(path, sizeof(path), "/v1/invoices/%s.pdf", inv_c1002);
	assert_int_equal(get(path, tok_c1002, &r), 200);
	assert_string_equal(header(&r, "Content-Type"), "application/pdf");
	assert_true(r.blen > 1000);
	assert_memory_equal(r.body, "%PDF-", 5);
	resp_free(&r);

	/* Another customer's invoice is exactly an unknown one. */
	snprintf(path, sizeof(path), "/v1/invoices/%s", inv_c1004);
	assert_int_equal(get(path, tok_c1002, &r), 404);
	assert_int_equal(get("/v1/invoices/F2099-999999", tok_c1002, &r2),
			 404);
	assert_string_equal(r.body, r2.body);
	resp_free(&r);
	resp_free(&r2);
	snprintf(path, sizeof(path), "/v1/invoices/%s.pdf", inv_c1004);
	assert_int_equal(get(path, tok_c1002, &r), 404);
	resp_free(&r);
	/* Naming its customer does not help: a customer token never names
	 * one (403), for the document or its PDF. */
	snprintf(path, sizeof(path), "/v1/invoices/%s?customer=C-1004",
		 inv_c1004);
	assert_int_equal(get(path, tok_c1002, &r), 403);
	assert_string_equal(error_code(&r), "forbidden");
	assert_null(strstr(r.body, inv_c1004));
	resp_free(&r);
	snprintf(path, sizeof(path), "/v1/invoices/%s.pdf?customer=C-1004",
		 inv_c1004);
	assert_int_equal(get(path, tok_c1002, &r), 403);
	assert_string_equal(error_code(&r), "forbidden");
	resp_free(&r);
	/* ... and the admin sees it, unless it names someone else. */
	snprintf(path, sizeof(path), "/v1/invoices/%s", inv_c1004);
	assert_int_equal(get(path, tok_admin, &r), 200);
	resp_free(&r);
	snprintf(path, sizeof(path), "/v1/invoices/%s?customer=C-1002",
		 inv_c1004);
	assert_int_equal(get(path, tok_admin, &r), 404);
	resp_free(&r);
	assert_int_equal(get("/v1/invoices?customer=C-1004", tok_admin, &r),
			 200);
	assert_null(strstr(r.body, "C-1002"));
	resp_free(&r);
}

static void test_public(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(get("/healthz", NULL, &r), 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}");
	resp_free(&r);
	assert_int_equal(get("/v1/pricesheet.pdf", NULL, &r), 200);
	assert_memory_equal(r.body, "%PDF-", 5);
	assert_non_null(strstr(header(&r, "Cache-Control"), "max-age=60"));
	resp_free(&r);
	assert_int_equal(get("/v1/pricesheet.pdf?lang=en", NULL, &r), 200);
	resp_free(&r);
	assert_int_equal(get("/v1/pricesheet.pdf?lang=de", NULL, &r), 400);
	assert_string_equal(error_code(&r), "bad_parameter");
	resp_free(&r);
}

static void test_metrics(void **state)
{
	struct resp r;

	(void)state;
	testdb_exec(db, "INSERT INTO postfix_sources (host, name, lines,"
			" messages, malformed, updated_at) VALUES ('mx1',"
			" 'mail.log', 1234, 56, 7,"
			" now() - interval '90 seconds');"
			"INSERT INTO storage_snapshots (source, taken_at,"
			" format, samples, errors, unattributed) VALUES"
			" ('imap1', now() - interval '1 hour', 'tab', 25, 1,"
			" 2)");
	assert_int_equal(get("/metrics", tok_admin, &r), 200);
	assert_non_null(strstr(header(&r, "Content-Type"), "text/plain"));
	assert_non_null(strstr(r.body, "releve_http_requests_total{route="
				       "\"usage\",status=\"200\"}"));
	assert_non_null(strstr(r.body,
			       "releve_http_request_duration_seconds_bucket"));
	assert_non_null(strstr(r.body, "releve_ingest_lag_seconds{collector="
				       "\"postfix\",source=\"mx1/mail.log\"}"));
	assert_non_null(strstr(r.body, "releve_postfix_lines_total{source="
				       "\"mx1/mail.log\"} 1234"));
	assert_non_null(strstr(r.body, "releve_postfix_malformed_lines_total"
				       "{source=\"mx1/mail.log\"} 7"));
	assert_non_null(strstr(r.body, "releve_ingest_lag_seconds{collector="
				       "\"dovecot\",source=\"imap1\"} 3"));
	assert_non_null(strstr(r.body, "releve_dovecot_errors_total{source="
				       "\"imap1\"} 1"));
	resp_free(&r);
	assert_int_equal(get("/metrics", tok_c1002, &r), 403);
	assert_string_equal(error_code(&r), "forbidden");
	resp_free(&r);
	assert_int_equal(get("/metrics", NULL, &r), 401);
	resp_free(&r);
}

/* A table of requests and the status and error code they must get. */
static void test_errors(void **state)
{
	static char big_target[6000], big_header[10000];
	const struct {
		const char *method, *path;
		const char *token; /* index into toks below, or NULL */
		const char *extra;
		int status;
		const char *code;
	} t[] = {
		/* 401 */
		{ "GET", "/v1/usage", NULL, NULL, 401, "unauthorized" },
		{ "GET", "/v1/usage", NULL, "Authorization: Basic Zm9vOmJhcg==\r\n",
		  401, "unauthorized" },
		{ "GET", "/v1/usage", NULL, "Authorization: Bearer\r\n", 401,
		  "unauthorized" },
		{ "GET", "/v1/usage", NULL, "Authorization: Bearer rlv_short\r\n",
		  401, "unauthorized" },
		{ "GET", "/v1/usage", NULL,
		  "Authorization: Bearer rlv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
		  401, "unauthorized" },
		{ "GET", "/v1/usage", "expired", NULL, 401, "unauthorized" },
		{ "GET", "/v1/usage", "revoked", NULL, 401, "unauthorized" },
		{ "GET", "/v1/invoices", "revoked", NULL, 401, "unauthorized" },
		/* 400 */
		{ "GET", "/v1/usage?from=2026-13-01", "c1002", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/v1/usage?to=yesterday", "c1002", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/v1/usage?from=2026-10-05&to=2026-10-01", "c1002", NULL,
		  400, "bad_parameter" },
		{ "GET", "/v1/usage?from=2024-01-01&to=2026-10-01", "c1002", NULL,
		  400, "bad_parameter" },
		{ "GET", "/v1/usage?by=week", "c1002", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/v1/usage?limit=5", "c1002", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/v1/usage?by=day&by=domain", "c1002", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/v1/usage?from=", "c1002", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/v1/usage", "admin", NULL, 400, "bad_parameter" },
		{ "GET", "/v1/quota", "admin", NULL, 400, "bad_parameter" },
		{ "GET", "/v1/usage?customer=../etc", "admin", NULL, 400,
		  "bad_parameter" },
		{ "GET", "/healthz?x=1", NULL, NULL, 400, "bad_parameter" },
		/* 403: customer tokens never name a customer. */
		{ "GET", "/v1/usage?customer=C-1004", "c1002", NULL, 403,
		  "forbidden" },
		{ "GET", "/v1/usage?customer=C-1002", "c1002", NULL, 403,
		  "forbidden" },
		{ "GET", "/v1/quota?customer=C-1004", "c1002", NULL, 403,
		  "forbidden" },
		{ "GET", "/v1/invoices?customer=C-1004", "c1002", NULL, 403,
		  "forbidden" },
		{ "GET", "/v1/usage?by=day&customer=C-1004", "c1002", NULL, 403,
		  "forbidden" },
		/* 404 */
		{ "GET", "/", NULL, NULL, 404, "not_found" },
		{ "GET", "/v1", "c1002", NULL, 404, "not_found" },
		{ "GET", "/v1/usage/", "c1002", NULL, 404, "not_found" },
		{ "GET", "/v1/usage/../quota", "c1002", NULL, 404, "not_found" },
		{ "GET", "/v1/invoices/", "c1002", NULL, 404, "not_found" },
		{ "GET", "/v1/invoices/..%2F..%2Fv1%2Fusage", "c1002", NULL, 404,
		  "not_found" },
		{ "GET", "/v1/invoices/%2E%2E%2Finvoices", "c1002", NULL, 404,
		  "not_found" },
		{ "GET", "/v1/invoices/F2026-000001%00", "c1002", NULL, 404,
		  "not_found" },
		{ "GET", "/v1/invoices/F2026-000001%27--", "c1002", NULL, 404,
		  "not_found" },
		{ "GET", "/v1/invoices/.pdf", "c1002", NULL, 404, "not_found" },
		{ "GET", "/v1/usage?customer=C-9999", "admin", NULL, 404,
		  "not_found" },
		{ "GET", "/v1/invoices?customer=C-9999", "admin", NULL, 404,
		  "not_found" },
		/* 405 */
		{ "POST", "/v1/usage", "c1002", "Content-Length: 0\r\n", 405,
		  "method_not_allowed" },
		{ "PUT", "/v1/usage", NULL, "Content-Length: 0\r\n", 405,
		  "method_not_allowed" },
		{ "DELETE", "/v1/invoices/F2026-000001", "c1002", NULL, 405,
		  "method_not_allowed" },
		{ "OPTIONS", "/healthz", NULL, NULL, 405, "method_not_allowed" },
		/* 413 */
		{ "GET", big_target, "c1002", NULL, 413, "too_large" },
		{ "GET", "/v1/usage", "c1002", big_header, 413, "too_large" },
		{ "GET", "/v1/usage", "c1002",
		  "Content-Length: 5\r\n\r\nhello", 413, "too_large" },
		{ "GET", "/healthz", NULL,
		  "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n", 413,
		  "too_large" },
	};
	struct resp r;

	(void)state;
	snprintf(big_target, sizeof(big_target), "/v1/usage?from=");
	memset(big_target + strlen(big_target), 'a',
	       sizeof(big_target) - strlen(big_target) - 1);
	snprintf(big_header, sizeof(big_header), "X-Filler: ");
	memset(big_header + strlen(big_header), 'b',
	       sizeof(big_header) - strlen(big_header) - 3);
	memcpy(big_header + sizeof(big_header) - 3, "\r\n", 3);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *tok = NULL;

		if (t[i].token) {
			tok = !strcmp(t[i].token, "c1002")     ? tok_c1002
			      : !strcmp(t[i].token, "admin")   ? tok_admin
			      : !strcmp(t[i].token, "expired") ? tok_expired
			      : !strcmp(t[i].token, "revoked") ? tok_revoked
							       : NULL;
			assert_non_null(tok);
		}
		req(srv.port, t[i].method, t[i].path, tok, t[i].extra, &r);
		if (r.status != t[i].status) {
			print_error("case %zu: %s %.60s: %d, expected %d: %s\n",
				    i, t[i].method, t[i].path, r.status,
				    t[i].status, r.body);
		}
		assert_int_equal(r.status, t[i].status);
		assert_string_equal(error_code(&r), t[i].code);
		if (t[i].status == 401) {
			assert_non_null(header(&r, "WWW-Authenticate"));
		}
		if (t[i].status == 405) {
			assert_string_equal(header(&r, "Allow"), "GET, HEAD");
		}
		/* Never internals. */
		assert_null(strstr(r.body, "SELECT"));
		assert_null(strstr(r.body, "ERROR"));
		resp_free(&r);
	}
	/* A 400 names the parameter, first in its message. */
	{
		const struct {
			const char *path, *token, *name;
		} b[] = {
			{ "/v1/usage?from=2026-13-01", "c1002", "from:" },
			{ "/v1/usage?to=yesterday", "c1002", "to:" },
			{ "/v1/usage?from=2026-10-05&to=2026-10-01", "c1002",
			  "from:" },
			{ "/v1/usage?by=week", "c1002", "by:" },
			{ "/v1/usage?limit=5", "c1002", "limit" },
			{ "/v1/usage?by=day&by=domain", "c1002", "by" },
			{ "/v1/usage", "admin", "customer:" },
			{ "/v1/usage?customer=../etc", "admin", "customer:" },
			{ "/healthz?x=1", NULL, "x" },
			{ "/v1/pricesheet.pdf?lang=de", NULL, "lang:" },
		};

		for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
			json_t *j;
			const char *m;

			get(b[i].path, !b[i].token ? NULL
				       : !strcmp(b[i].token, "admin")
					       ? tok_admin
					       : tok_c1002,
			    &r);
			assert_int_equal(r.status, 400);
			j = json_loads(r.body, 0, NULL);
			assert_non_null(j);
			m = json_string_value(json_object_get(
				json_object_get(j, "error"), "message"));
			assert_non_null(m);
			if (!strstr(m, b[i].name)) {
				print_error("%s: \"%s\" does not name %s\n",
					    b[i].path, m, b[i].name);
			}
			assert_non_null(strstr(m, b[i].name));
			json_decref(j);
			resp_free(&r);
		}
	}
	/* The messages say which token problem it is. */
	get("/v1/usage", tok_expired, &r);
	assert_non_null(strstr(r.body, "expired"));
	resp_free(&r);
	get("/v1/usage", tok_revoked, &r);
	assert_non_null(strstr(r.body, "revoked"));
	resp_free(&r);
	/* A malformed request line: MHD answers 400 or closes; the server
	 * lives on. */
	raw(srv.port, "BLAH\r\n\r\n", 8, &r);
	assert_true(r.status == 400 || r.status == -1);
	resp_free(&r);
	assert_int_equal(get("/healthz", NULL, &r), 200);
	resp_free(&r);
}

/* The access log: a line per request, never a token or a query. */
static void test_access_log(void **state)
{
	struct resp r;
	char *log;

	(void)state;
	assert_int_equal(get("/v1/usage?from=2026-10-02&to=2026-10-03",
			     tok_c1002, &r), 200);
	resp_free(&r);
	log = test_read_file(srv.log);
	assert_non_null(strstr(log, " GET /v1/usage 200 "));
	assert_non_null(strstr(log, "customer=C-1002"));
	assert_null(strstr(log, "from=2026-10-02"));
	assert_null(strstr(log, "rlv_"));
	assert_null(strstr(log, tok_c1002 + 4));
	assert_null(strstr(log, tok_admin + 4));
	free(log);
}

/* Every path of docs/openapi.yaml is routed (not the router's 404). */
static void test_openapi(void **state)
{
	char *y = test_read_file("docs/openapi.yaml");
	char *p, *line;
	int n = 0;

	(void)state;
	assert_non_null(y);
	p = strstr(y, "\npaths:\n");
	assert_non_null(p);
	for (line = strtok(p + 8, "\n"); line; line = strtok(NULL, "\n")) {
		char path[128], *brace;
		struct resp r;

		if (line[0] != ' ' && line[0] != '#') {
			break; /* the next top-level key */
		}
		if (strncmp(line, "  /", 3) != 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s", line + 2);
		path[strcspn(path, ":")] = '\0';
		brace = strstr(path, "{number}");
		if (brace) {
			char tail[64];

			snprintf(tail, sizeof(tail), "%s", brace + 8);
			snprintf(brace, sizeof(path) - (size_t)(brace - path),
				 "%s%s", inv_c1002, tail);
		}
		get(path, strcmp(path, "/metrics") ? tok_c1002 : tok_admin,
		    &r);
		if (r.status != 200) {
			print_error("%s: %d %s\n", path, r.status, r.body);
		}
		assert_int_equal(r.status, 200);
		resp_free(&r);
		get(path, NULL, &r);
		assert_true(r.status == 200 || r.status == 401);
		resp_free(&r);
		n++;
	}
	assert_int_equal(n, 8);
	free(y);
}

/* A second server: one thread, one connection, 2 requests a second with
 * a burst of 3, its database connection killed under it. */
/* The second server's database connection (one thread) terminated. */
static void cut_second_server_db(void)
{
	char *n = testdb_value(db, "SELECT count(pg_terminate_backend(pid))"
				   " FROM pg_stat_activity WHERE"
				   " application_name = 'releve_test_two'");

	assert_string_equal(n, "1");
	free(n);
	usleep(200000);
}

static void test_rate_and_db_loss(void **state)
{
	const char *const extra[] = { "--threads", "1", "--rate", "2",
				      "--burst", "3", "--db",
				      "application_name=releve_test_two",
				      NULL };
	struct server s2;
	struct resp r;
	int limited = 0;
	char *n;

	(void)state;
	server_start(&s2, "second", extra);
	for (int i = 0; i < 6; i++) {
		int st = req(s2.port, "GET", "/v1/quota", tok_c1004, NULL, &r);

		if (i < 3) {
			assert_int_equal(st, 200);
		}
		if (st == 429) {
			limited++;
			assert_string_equal(error_code(&r), "rate_limited");
			assert_non_null(header(&r, "Retry-After"));
			assert_true(atoi(header(&r, "Retry-After")) >= 1);
		}
		resp_free(&r);
	}
	assert_true(limited >= 2);
	/* Another token has its own bucket. */
	assert_int_equal(req(s2.port, "GET", "/v1/quota", tok_c1002, NULL, &r),
			 200);
	resp_free(&r);
	/* The bucket refills. */
	usleep(1100000);
	assert_int_equal(req(s2.port, "GET", "/v1/quota", tok_c1004, NULL, &r),
			 200);
	resp_free(&r);
	/* last_used is recorded. */
	n = testdb_value(db, "SELECT count(*) FROM api_tokens WHERE"
			     " last_used_at IS NOT NULL AND customer_id ="
			     " 'C-1004'");
	assert_string_equal(n, "1");
	free(n);

	/* The database goes away under the server: 503, then it
	 * reconnects by itself. */
	cut_second_server_db();
	assert_int_equal(req(s2.port, "GET", "/healthz", NULL, NULL, &r), 503);
	assert_string_equal(error_code(&r), "unavailable");
	assert_null(strstr(r.body, "terminat"));
	resp_free(&r);
	assert_int_equal(req(s2.port, "GET", "/healthz", NULL, NULL, &r), 200);
	resp_free(&r);
	/* The same on an authenticated route. */
	usleep(1100000); /* the token's bucket refills */
	cut_second_server_db();
	assert_int_equal(req(s2.port, "GET", "/v1/quota", tok_c1002, NULL, &r),
			 503);
	assert_string_equal(error_code(&r), "unavailable");
	resp_free(&r);
	assert_int_equal(req(s2.port, "GET", "/v1/quota", tok_c1002, NULL, &r),
			 200);
	resp_free(&r);
	server_stop(&s2);
}

/* Half a request held open does not stop others; it is closed after
 * the timeout (2 s here). */
static void test_slow_client(void **state)
{
	const char half[] = "GET /v1/usage HTTP/1.1\r\nHost: loc";
	struct timespec t0, t1;
	struct resp r;
	char buf[256];
	int fd[8];
	ssize_t n;

	(void)state;
	for (int i = 0; i < 8; i++) {
		fd[i] = connect_to(srv.port);
		assert_true(fd[i] >= 0);
		send_all(fd[i], half, sizeof(half) - 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(get("/v1/quota", tok_c1002, &r), 200);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	resp_free(&r);
	for (int i = 0; i < 8; i++) {
		struct pollfd pfd = { fd[i], POLLIN, 0 };

		/* Closed by the server within timeout + a margin. */
		assert_int_equal(poll(&pfd, 1, 6000), 1);
		n = recv(fd[i], buf, sizeof(buf), 0);
		assert_true(n <= 0 || !strncmp(buf, "HTTP/1.1 4", 10));
		close(fd[i]);
	}
	assert_int_equal(get("/healthz", NULL, &r), 200);
	resp_free(&r);
}

/* recv on fd within ms: 1 when the server closed it (EOF or reset),
 * 0 when it is still open, -1 on data. */
static int closed_within(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char buf[64];
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1) {
		return 0;
	}
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	return n <= 0 ? 1 : -1;
}

/*
 * A client trickling its request a byte at a time (never idle for the
 * inactivity timeout) is cut off at the request deadline while others are
 * served; a connection over the cap waits until one closes.
 */
static void test_trickle_and_cap(void **state)
{
	const char *const extra[] = { "--threads", "2", "--max-connections",
				      "3", "--request-timeout", "3", NULL };
	const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
	struct server s3;
	struct timespec t0, t1;
	struct resp r;
	int fd[3], over, t, cut = 0;
	double secs;
	char *log;

	(void)state;
	server_start(&s3, "third", extra);
	/* The cap: with three connections held (for less than the 2 s idle
	 * timeout), a fourth waits unanswered in the listen queue; when one
	 * goes, it is taken and answered. */
	for (int i = 0; i < 3; i++) {
		fd[i] = connect_to(s3.port);
		assert_true(fd[i] >= 0);
	}
	usleep(200000);
	over = connect_to(s3.port);
	assert_true(over >= 0);
	{
		const char q[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
				 "Connection: close\r\n\r\n";

		send_all(over, q, sizeof(q) - 1);
	}
	assert_int_equal(closed_within(over, 800), 0); /* no answer yet */
	close(fd[0]);
	read_resp(over, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	close(over);
	close(fd[1]);
	close(fd[2]);
	usleep(300000);

	/* The trickle: a byte every 0.4 s (the idle timeout is 2 s). */
	t = connect_to(s3.port);
	assert_true(t >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(send(t, head, sizeof(head) - 1, MSG_NOSIGNAL) > 0);
	for (int i = 0; i < 25 && !cut; i++) {
		if (i == 3) {
			/* Others are served meanwhile. */
			assert_int_equal(req(s3.port, "GET", "/healthz", NULL,
					     NULL, &r), 200);
			resp_free(&r);
		}
		if (send(t, "a", 1, MSG_NOSIGNAL) < 0) {
			cut = 1;
			break;
		}
		cut = closed_within(t, 400) == 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(t);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(cut);
	assert_true(secs >= 2.5);
	assert_true(secs < 8.0);
	assert_int_equal(req(s3.port, "GET", "/healthz", NULL, NULL, &r), 200);
	resp_free(&r);
	server_stop(&s3);
	log = test_read_file(s3.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "no whole request within 3 s"));
	assert_non_null(strstr(log, "1 connections closed for not sending"));
	free(log);
}

/* SIGTERM with a request under way: the request is answered, new
 * connections are refused, then the server exits 0.  The request is held
 * in the server by a lock on api_tokens taken here. */
static void test_sigterm(void **state)
{
	char request[256];
	struct resp r;
	int fd, fd2, st;

	(void)state;
	testdb_exec(db, "BEGIN; LOCK TABLE api_tokens IN ACCESS EXCLUSIVE"
			" MODE");
	fd = connect_to(srv.port);
	assert_true(fd >= 0);
	snprintf(request, sizeof(request),
		 "GET /v1/quota HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		 "Authorization: Bearer %s\r\n\r\n",
		 tok_c1002);
	send_all(fd, request, strlen(request));
	usleep(300000);
	kill(srv.pid, SIGTERM);
	usleep(500000);
	assert_int_equal(waitpid(srv.pid, &st, WNOHANG), 0); /* waiting */
	fd2 = connect_to(srv.port);
	assert_true(fd2 < 0); /* no longer accepting */
	testdb_exec(db, "COMMIT");
	read_resp(fd, &r);
	close(fd);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"state\":\"warn\""));
	resp_free(&r);
	assert_int_equal(server_wait(&srv, 30), 0);
	{
		char *log = test_read_file(srv.log);

		if (!log) {
			print_error("%s: %s\n", srv.log, strerror(errno));
		}
		assert_non_null(log);
		assert_non_null(strstr(log, "stopping (1 requests under way)"));
		assert_non_null(strstr(log, "releve serve: stopped"));
		free(log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_token_cli),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_invoices),
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_openapi),
		cmocka_unit_test(test_rate_and_db_loss),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_trickle_and_cap),
		cmocka_unit_test(test_sigterm),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
