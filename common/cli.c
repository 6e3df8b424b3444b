/*
 * cli — command-line conventions; see cli.h.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

void cli_reset(void)
{
	/* glibc: optind = 0 re-initialises getopt's internal state too. */
	optind = 0;
	opterr = 1;
}

int cli_usage(const char *group, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "releve %s: ", group);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'releve %s --help'.\n", group);
	return EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("releve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int cli_dispatch(const char *group, const char *help, const struct cli_sub *subs,
		 int argc, char **argv)
{
	if (argc < 2) {
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	for (const struct cli_sub *s = subs; s->name; s++) {
		if (!strcmp(argv[1], s->name)) {
			cli_reset();
			return s->run(argc - 1, argv + 1);
		}
	}
	return cli_usage(group, "unknown subcommand '%s'", argv[1]);
}

int cli_file_command(int argc, char **argv, const char *group,
		     const char *sub, const char *help, const char **db,
		     int *check, const char **path)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"check", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*db = NULL;
	*check = 0;
	*path = NULL;
	while ((c = getopt_long(argc, argv, "d:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			*db = optarg;
			break;
		case 'n':
			*check = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage(group, "bad option");
		}
	}
	if (optind + 1 != argc) {
		return cli_usage(group, "%s: %s", sub,
				 optind == argc ? "FILE.json expected"
						: "one file only");
	}
	*path = argv[optind];
	return -1;
}

int cli_stderr_tty(void)
{
	return isatty(STDERR_FILENO);
}
