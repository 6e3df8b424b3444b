/*
 * cmd_serve — `releve serve`: the HTTP API for the customer panel
 * (reports/api.h routes it, reports/http.h serves it).  Runs in the
 * foreground until SIGTERM or SIGINT, then stops accepting connections,
 * lets the requests under way finish (up to --grace seconds) and exits 0.
 * The signals are blocked in every thread and taken with sigwait() here,
 * so no handler runs inside libmicrohttpd or libpq.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/session.h"
#include "api.h"
#include "http.h"
#include "usage.h"

#define WHO "releve serve"

static const char help[] =
	"Usage: releve serve [--listen ADDR:PORT] [--db CONNINFO] [options]\n"
	"\n"
	"Serve the HTTP API of the customer panel (JSON; invoices and the\n"
	"price sheet as PDF) until SIGTERM or SIGINT.  Tokens: releve token.\n"
	"An access log line per request goes to stderr.\n"
	"\n"
	"Options:\n"
	"  -l, --listen ADDR:PORT   address to listen on (default\n"
	"                           127.0.0.1:8080; [::1]:8080 for IPv6;\n"
	"                           port 0: any free port, printed)\n"
	"  -t, --threads N          polling threads and database connections\n"
	"                           (default 4)\n"
	"  -T, --timeout SECONDS    close a connection idle this long\n"
	"                           (default 10)\n"
	"  -R, --request-timeout SECONDS\n"
	"                           close a connection whose request (line\n"
	"                           and headers) is not in full this long\n"
	"                           after the connection opened or the last\n"
	"                           response ended (default 30; 0: none)\n"
	"  -m, --max-connections N  connections at once (default 256)\n"
	"  -r, --rate N             requests per second per token (default\n"
	"                           50; 0: no limit)\n"
	"  -b, --burst N            requests a token may send at once\n"
	"                           (default 100)\n"
	"  -g, --grace SECONDS      on SIGTERM, time given to the requests\n"
	"                           under way (default 30)\n"
	"  -q, --no-access-log      no line per request\n" SESSION_HELP
	"  -h, --help               this help\n"
	"\n"
	"Limits: request target 4096 bytes, headers 8192 bytes, no request\n"
	"body (413); GET and HEAD only (405).\n";

static int number(const char *opt, const char *s, unsigned lo, unsigned hi,
		  unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi) {
		cli_usage("serve", "%s: '%s' is not a number from %u to %u",
			  opt, s, lo, hi);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "request-timeout", required_argument, NULL, 'R' },
		{ "max-connections", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "grace", required_argument, NULL, 'g' },
		{ "no-access-log", no_argument, NULL, 'q' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_config hc = {
		.listen = "127.0.0.1:8080",
		.threads = 4,
		.timeout = 10,
		.request_timeout = 30,
		.max_connections = 256,
		.max_target = 4096,
		.max_headers = 8192,
		.grace = 30,
		.access_log = 1,
	};
	struct api_config ac = { NULL, 4, 50, 100, NULL };
	struct diag d = DIAG_INIT;
	struct http_server *srv;
	struct api *api;
	sigset_t sigs;
	unsigned left;
	unsigned long cut;
	PGconn *c;
	int ch, sig;

	while ((ch = getopt_long(argc, argv, "l:t:T:R:m:r:b:g:qd:h", opts,
				 NULL)) != -1) {
		int bad = 0;

		switch (ch) {
		case 'l':
			hc.listen = optarg;
			break;
		case 't':
			bad = number("--threads", optarg, 1, 256, &hc.threads);
			break;
		case 'T':
			bad = number("--timeout", optarg, 1, 3600, &hc.timeout);
			break;
		case 'R':
			bad = number("--request-timeout", optarg, 0, 3600,
				     &hc.request_timeout);
			break;
		case 'm':
			bad = number("--max-connections", optarg, 1, 100000,
				     &hc.max_connections);
			break;
		case 'r':
			bad = number("--rate", optarg, 0, 1000000, &ac.rate);
			break;
		case 'b':
			bad = number("--burst", optarg, 1, 1000000, &ac.burst);
			break;
		case 'g':
			bad = number("--grace", optarg, 0, 3600, &hc.grace);
			break;
		case 'q':
			hc.access_log = 0;
			break;
		case 'd':
			ac.conninfo = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("serve", "bad option");
		}
		if (bad) {
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		return cli_usage("serve", "unexpected argument '%s'",
				 argv[optind]);
	}
	if (hc.max_connections < hc.threads) {
		return cli_usage("serve",
				 "--max-connections: at least --threads (%u)",
				 hc.threads);
	}
	ac.pool = hc.threads;
	ac.today = getenv("RELEVE_TODAY");
	if (ac.today && !*ac.today) {
		ac.today = NULL;
	}
	if (ac.today && usage_parse_date(ac.today) != 0) {
		return cli_usage("serve", "RELEVE_TODAY: '%s' is not a date",
				 ac.today);
	}

	c = session_open(WHO, ac.conninfo);
	if (!c) {
		return EXIT_FAIL;
	}
	/* Block the stop signals before any thread exists: every thread
	 * inherits the mask, and only sigwait() below takes them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	api = api_new(&ac, c);
	api_warm(api);
	srv = http_start(&hc, api_handle, api_done, api, &d);
	if (!srv) {
		diag_print(&d, stderr, WHO);
		diag_free(&d);
		api_free(api);
		return EXIT_FAIL;
	}
	fprintf(stderr, "%s: listening on %s (%u threads)\n", WHO,
		http_bound(srv), hc.threads);
	do {
		if (sigwait(&sigs, &sig) != 0) {
			sig = 0;
		}
	} while (sig != SIGTERM && sig != SIGINT);
	fprintf(stderr, "%s: %s: stopping (%u requests under way)\n", WHO,
		strsignal(sig), http_in_flight(srv));
	cut = http_cut(srv);
	left = http_stop(srv);
	api_free(api);
	if (left) {
		fprintf(stderr, "%s: %u requests cut short after --grace\n",
			WHO, left);
		return EXIT_FAIL;
	}
	if (cut) {
		fprintf(stderr, "%s: %lu connections closed for not sending"
			" a whole request in time\n", WHO, cut);
	}
	fprintf(stderr, "%s: stopped\n", WHO);
	return EXIT_OK;
}
