/*
 * collect — the `releve collect postfix|dovecot` subcommands, each in its
 * own cmd_collect_*.c; cmd_collect.c dispatches.
 */
#ifndef RELEVE_COLLECT_H
#define RELEVE_COLLECT_H

int cmd_collect_postfix(int argc, char **argv);
int cmd_collect_dovecot(int argc, char **argv);

#endif
