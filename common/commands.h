/*
 * commands — the top-level command groups of the releve binary.  Each is
 * defined in a cmd_*.c of the folder that owns its work.
 */
#ifndef RELEVE_COMMANDS_H
#define RELEVE_COMMANDS_H

int cmd_local(int argc, char **argv);    /* common/cmd_local.c */
int cmd_db(int argc, char **argv);       /* common/cmd_db.c */
int cmd_registry(int argc, char **argv); /* billing/cmd_registry.c */
int cmd_tariff(int argc, char **argv);   /* billing/cmd_tariff.c */
int cmd_seller(int argc, char **argv);   /* billing/cmd_seller.c */
int cmd_collect(int argc, char **argv);  /* metering/cmd_collect.c */
int cmd_rollup(int argc, char **argv);   /* metering/cmd_rollup.c */
int cmd_rate(int argc, char **argv);     /* billing/cmd_rate.c */
int cmd_quota(int argc, char **argv);    /* billing/cmd_quota.c */
int cmd_usage(int argc, char **argv);    /* reports/cmd_usage.c */
int cmd_invoice(int argc, char **argv);  /* reports/cmd_invoice.c */
int cmd_pricesheet(int argc, char **argv); /* reports/cmd_pricesheet.c */
int cmd_export(int argc, char **argv);   /* reports/cmd_export.c */
int cmd_serve(int argc, char **argv);    /* reports/cmd_serve.c */
int cmd_token(int argc, char **argv);    /* reports/cmd_token.c */

#endif
