/*
 * cmd_pricesheet — `releve pricesheet`: the price sheet of a tariff
 * version as a PDF, to a file or to stdout.  Thin: pricesheet_pdf.c loads
 * and renders.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/session.h"
#include "pricesheet_pdf.h"

static const char help[] =
	"Usage: releve pricesheet [--tariff VERSION] [--lang fr|en] [-o FILE]\n"
	"                         [--db CONNINFO]\n"
	"\n"
	"Write the price sheet of a tariff version as a one-page PDF: each\n"
	"plan with its monthly price excluding and including French VAT, its\n"
	"included outbound per day and storage, the storage add-on, the\n"
	"soft-quota policy, the effective date and the seller's identity.\n"
	"\n"
	"Options:\n"
	"  -t, --tariff VERSION  the version (default: the one in effect today\n"
	"                     in Europe/Paris, else the latest loaded)\n"
	"  -l, --lang LANG    fr (default) or en\n"
	"  -o, --output FILE  write FILE (atomically); without -o the PDF goes\n"
	"                     to stdout, which must not be a terminal\n" SESSION_HELP
	"  -h, --help         this help\n"
	"\n"
	"Exit status: 0 written, 1 failure (no such version, no seller, I/O),\n"
	"2 usage error.\n";

static int write_all(FILE *f, const unsigned char *buf, size_t len)
{
	return fwrite(buf, 1, len, f) == len && fflush(f) == 0 ? 0 : -1;
}

int cmd_pricesheet(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tariff", required_argument, NULL, 't'},
		{"lang", required_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *version = NULL, *lang = "fr", *out = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	unsigned char *buf = NULL;
	size_t len = 0;
	PGconn *conn;
	int c, rc;

	cli_reset();
	while ((c = getopt_long(argc, argv, "t:l:o:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			version = optarg;
			break;
		case 'l':
			lang = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("pricesheet", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("pricesheet", "unexpected argument '%s'",
				 argv[optind]);
	}
	if (strcmp(lang, "fr") && strcmp(lang, "en")) {
		return cli_usage("pricesheet", "--lang '%s': use fr or en",
				 lang);
	}
	if (!out && isatty(STDOUT_FILENO)) {
		return cli_usage("pricesheet", "stdout is a terminal: use -o "
					       "FILE or a redirection");
	}
	conn = session_open("releve pricesheet", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	rc = pricesheet_pdf_buffer(conn, version, lang, &buf, &len, &d);
	db_close(conn);
	if (rc == 0) {
		if (out) {
			rc = atomicfile_write(out, (const char *)buf, len,
					      0644, &d);
		} else if (write_all(stdout, buf, len) != 0) {
			diag_add(&d, "stdout: write error");
			rc = -1;
		}
	}
	if (rc != 0) {
		diag_print(&d, stderr, "releve pricesheet");
	} else if (out) {
		fprintf(stderr, "%s: %zu bytes\n", out, len);
	}
	diag_free(&d);
	free(buf);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
