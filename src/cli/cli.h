/* Shared pieces of the `chaoscontrol` subcommands. */
#ifndef CC_CLI_H
#define CC_CLI_H

#include <stdint.h>

/* Exit codes scripts can rely on (documented in README and --help). */
enum {
	CC_EXIT_OK = 0,		 /* guest finished, program status 0 */
	CC_EXIT_GUEST_FAIL = 1,	 /* guest program reported failure */
	CC_EXIT_USAGE = 2,	 /* bad command line */
	CC_EXIT_SETUP = 3,	 /* KVM, kernel, initrd or memory problem */
	CC_EXIT_GUEST_CRASH = 4, /* triple fault, panic, emulation failure */
	CC_EXIT_LIMIT = 5,	 /* a time or exit limit stopped the guest */
	CC_EXIT_DIVERGED = 6,	 /* `determinism`: runs were not identical */
};

/* Default guest built by `make`: $CHAOSCONTROL_GUEST_DIR or the build
 * tree this binary came from. */
const char *cc_cli_guest_dir(void);
/* Parses "256", "256M", "1G" (MiB by default) into bytes; 0 on error. */
uint64_t cc_cli_parse_size(const char *s);

int cc_cmd_boot(int argc, char **argv);
int cc_cmd_run(int argc, char **argv);
int cc_cmd_determinism(int argc, char **argv);
int cc_cmd_doctor(int argc, char **argv);

#endif
