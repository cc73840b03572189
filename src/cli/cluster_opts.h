/*
 * The options of `chaoscontrol run --vms N` (and of `run SCENARIO.json`,
 * `run --reproduce FILE`, and the clusters `explore` opens): flags, a
 * scenario file's fields under them, a reproducer's scenario and seed.
 * Parsing only: src/cli/cmd_cluster.c runs what they say.
 */
#ifndef CC_CLI_CLUSTER_OPTS_H
#define CC_CLI_CLUSTER_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../fault/engine.h"
#include "../run/reproducer.h"
#include "../run/scenario.h"
#include "../sim/controller.h"

#define CC_CLUSTER_DEFAULT_TICKS 2000u

struct cc_cluster_opts {
	unsigned vms, threads;
	bool threads_given, json, quiet, no_cache, data_disk;
	uint64_t seed, ticks, mem;
	uint32_t random_ppm;
	uint64_t check_at, check_repeats; /* --restore-check */
	enum cc_gate gate;
	const char *schedule, *disk, *platform, *image_arg;
	const char *schedule_json; /* a scenario's inline schedule */
	char **argv;		   /* program and arguments */
	char *default_argv[3];
	char nodes_arg[16];
	struct cc_scenario sc; /* all zero without a scenario file */
	bool vms_given;
	/* Per node, from the scenario (NULL / 0: the above). */
	char *node_argv[CC_SIM_MAX_VMS][CC_SCENARIO_ARGS_MAX + 1];
	char *node_env[CC_SIM_MAX_VMS][CC_SCENARIO_ARGS_MAX + 1];
	const char *node_cwd[CC_SIM_MAX_VMS];
	const char *node_initrd[CC_SIM_MAX_VMS];
	const char *node_imgdisk[CC_SIM_MAX_VMS];
	const char *node_spec[CC_SIM_MAX_VMS]; /* images as named */
	char node_image[CC_SIM_MAX_VMS][4096];
	char blank_disk[4096]; /* a scenario's data_disk {"size": ...} */
	uint64_t node_mem[CC_SIM_MAX_VMS];
	bool reproduce; /* --reproduce FILE */
	struct cc_repro repro;
};

/* Fills o from the command line (a scenario file's fields first, each
 * flag over its field; --reproduce's file before both).  0, or the exit
 * status to end with (usage: after saying why). */
int cc_cluster_opts_parse(int argc, char **argv, struct cc_cluster_opts *o);

#endif
