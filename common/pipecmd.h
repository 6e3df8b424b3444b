/*
 * pipecmd — run a configured shell command with a text on its standard
 * input (e.g. `/usr/sbin/sendmail -t -oi`) and check how it ended.
 *
 * The command line is configuration, not data: it runs as `/bin/sh -c
 * CMD`, so operators may give options or a wrapper.  The input is written
 * whole (SIGPIPE ignored meanwhile: a command that exits early is an
 * error, not a crash); its stdout and stderr are the caller's.
 */
#ifndef RELEVE_PIPECMD_H
#define RELEVE_PIPECMD_H

#include <stddef.h>

#include "diag.h"

/* 0 when cmd read the input and exited 0; else -1 with "cmd: reason"
 * (exit status, signal, write error) in d. */
int pipecmd_run(const char *cmd, const char *input, size_t len,
		struct diag *d);

#endif
