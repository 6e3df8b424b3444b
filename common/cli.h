/*
 * cli — conventions shared by every subcommand: exit codes, getopt reset,
 * usage errors.  Subcommands are `int cmd_x(int argc, char **argv)` with
 * argv[0] the subcommand's own name ("import" in `releve registry import`).
 */
#ifndef RELEVE_CLI_H
#define RELEVE_CLI_H

#include <stdio.h>

enum {
	EXIT_OK = 0,	/* done */
	EXIT_FAIL = 1,	/* the work failed: bad input, database error, ... */
	EXIT_USAGE = 2, /* the command line is wrong */
};

/* One subcommand of a command group. */
struct cli_sub {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Make getopt_long start afresh on a new argv. */
void cli_reset(void);
/* "releve GROUP: message\nTry 'releve GROUP --help'." on stderr; returns 2. */
int cli_usage(const char *group, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print an error line "releve: message" on stderr; returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Dispatch argv[1] among subs (argv[0] is the group name).  Handles
 * --help/-h and `help`.  Returns the subcommand's exit code.
 */
int cli_dispatch(const char *group, const char *help, const struct cli_sub *subs,
		 int argc, char **argv);
/*
 * Options of a command that reads one document and stores it:
 * `releve GROUP SUB FILE [--check] [--db CONNINFO]` (-n/--check,
 * -d/--db, -h/--help printing help).  Returns -1 with *db, *check and
 * *path set to go on, else the exit code to return (help, usage error).
 */
int cli_file_command(int argc, char **argv, const char *group,
		     const char *sub, const char *help, const char **db,
		     int *check, const char **path);
/* Is stderr a terminal (progress lines)? */
int cli_stderr_tty(void);

#endif
