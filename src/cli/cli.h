/* Shared pieces of the `chaoscontrol` subcommands. */
#ifndef CC_CLI_H
#define CC_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "../vmm/platform.h"
#include "../vmm/vm.h"

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
/* A decimal number <= max into *out; -1 when it is not one (sign,
 * junk, overflow). */
int cc_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* The watchdog's default for a platform: PVM's emulated kernel computes
 * for tens of seconds between exits while it boots. */
unsigned cc_cli_watchdog_ms(enum cc_platform_kind kind);
/* The user-mode bound (cc_vm_config.spin_ms) by platform. */
unsigned cc_cli_spin_ms(enum cc_platform_kind kind);
/* Parses "256", "256M", "1G" (MiB by default) into bytes; 0 on error. */
uint64_t cc_cli_parse_size(const char *s);

/* "auto" (probe), "pvm" or "hardware"; -1 after printing why. */
int cc_cli_platform(const char *name, enum cc_platform_kind *kind);
/* Wall-clock seconds (reports only: never reaches a guest). */
double cc_cli_wall_s(void);

int cc_cmd_boot(int argc, char **argv);
int cc_cmd_cluster(int argc, char **argv);
/* Where `run`'s arguments name a scenario file (an argument, not an
 * option's value, ending in .json, before "--"); 0 if none. */
int cc_cli_scenario_index(int argc, char **argv);
int cc_cmd_run_vm(int argc, char **argv); /* `run` of one VM */
int cc_cmd_determinism(int argc, char **argv);
int cc_cmd_doctor(int argc, char **argv);
int cc_cmd_image(int argc, char **argv);
int cc_cmd_explore(int argc, char **argv);

/* A `run` command line's cluster, set up to its first round (quiet
 * unless asked): the explorer's start (cmd_cluster.c). */
struct cc_cli_cluster;
struct cc_sim;
struct cc_cli_cluster_info {
	struct cc_sim *sim;
	uint64_t ticks, seed;
	unsigned nodes;
	enum cc_platform_kind kind;
};
int cc_cli_cluster_open(int argc, char **argv, struct cc_cli_cluster **out,
			struct cc_cli_cluster_info *info);
void cc_cli_cluster_close(struct cc_cli_cluster *c);
/* Runs an opened cluster as `run` would have: to its horizon, or a
 * reproducer's path and last branch.  -1 with err. */
struct cc_err;
int cc_cli_cluster_execute(struct cc_cli_cluster *c, struct cc_err *err);
int cc_cmd_replay(int argc, char **argv);
int cc_cmd_triage(int argc, char **argv);

#endif
