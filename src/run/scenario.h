/*
 * Scenario files (docs/SCENARIOS.md): a cluster run written down - its
 * nodes (a count, or a list with each node's program, arguments, image
 * and memory), seed, ticks, fault schedule (a file or inline), random
 * faults, gate and threads.  `chaoscontrol run SCENARIO.json` runs one;
 * every `run --vms` flag overrides its field.  JSON, read with jansson;
 * every field is checked with a message that names it.
 *
 * Program arguments and environment values are templates, expanded per node
 * once the cluster size is final (a --vms flag may change it): {node} the
 * node's index, {ip} its address (10.0.0.<node+1>), {peers} the others'
 * addresses, comma-separated, {n} the cluster size.
 */
#ifndef CC_SCENARIO_H
#define CC_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fault/engine.h"
#include "../base/err.h"

#define CC_SCENARIO_VERSION  1
#define CC_SCENARIO_NODES    16 /* CC_SIM_MAX_VMS */
#define CC_SCENARIO_ARGS_MAX 32 /* program + arguments */
#define CC_SCENARIO_ARG_MAX  1024
#define CC_SCENARIO_ENV_MAX  32 /* environment entries per node */

struct cc_scenario_node {
	/* Templates; NULL entries fall back to the scenario's defaults. */
	char *argv[CC_SCENARIO_ARGS_MAX + 1];
	unsigned argc; /* 0: the defaults' program and arguments */
	char *image;   /* an initrd (chaoscontrol image build) */
	uint64_t mem;  /* bytes; 0: the default */
	char *env[CC_SCENARIO_ENV_MAX + 1]; /* "NAME=VALUE" templates */
	unsigned nenv;
	char *cwd; /* NULL: the default's, then "/" */
};

struct cc_scenario {
	unsigned nodes; /* 0: not given */
	bool node_list; /* nodes given one by one (their count is fixed) */
	struct cc_scenario_node dflt, node[CC_SCENARIO_NODES];
	char *disk;	 /* every node's disk image */
	char *data_disk; /* ... or one init mounts at /data (ext4) */
	uint64_t data_disk_bytes; /* ... or a blank one of this size */
	bool has_seed, has_ticks, has_random, has_gate, has_threads;
	uint64_t seed, ticks;
	uint32_t random_ppm;
	enum cc_gate gate;
	unsigned threads;
	char *schedule_path; /* a schedule file, or */
	char *schedule_json; /* an inline schedule (checked at load) */
};

/* text (len bytes) whose relative paths are under dir; or the file. */
int cc_scenario_parse(struct cc_scenario *sc, const char *text, size_t len,
		      const char *dir, struct cc_err *err);
int cc_scenario_load(struct cc_scenario *sc, const char *path,
		     struct cc_err *err);
void cc_scenario_free(struct cc_scenario *sc);

/*
 * Node i's program and arguments in a cluster of n, templates expanded,
 * into out[] (NULL-terminated, strings malloc'd: cc_scenario_argv_free).
 * 0 with out[0] == NULL when the scenario names no program for it.
 */
int cc_scenario_argv(const struct cc_scenario *sc, unsigned i, unsigned n,
		     char *out[CC_SCENARIO_ARGS_MAX + 1], struct cc_err *err);
void cc_scenario_argv_free(char *argv[CC_SCENARIO_ARGS_MAX + 1]);

/* Node i's environment: the scenario's entries, then the node's (a
 * name given by both takes the node's value), templates expanded, into
 * out[] (NULL-terminated; free with cc_scenario_argv_free). */
int cc_scenario_env(const struct cc_scenario *sc, unsigned i, unsigned n,
		    char *out[CC_SCENARIO_ARGS_MAX + 1], struct cc_err *err);

/* Node i's working directory (NULL: "/"). */
const char *cc_scenario_cwd(const struct cc_scenario *sc, unsigned i);

/* Node i's image and memory (NULL / 0: the defaults). */
const char *cc_scenario_image(const struct cc_scenario *sc, unsigned i);
uint64_t cc_scenario_mem(const struct cc_scenario *sc, unsigned i);

#endif
