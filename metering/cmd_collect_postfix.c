/* placeholder until the postfix collector lands */
#include "collect.h"
#include "common/cli.h"
int cmd_collect_postfix(int argc, char **argv)
{
	(void)argc; (void)argv;
	return cli_fail("collect postfix: not built yet");
}
