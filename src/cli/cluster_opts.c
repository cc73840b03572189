/* The options of `run --vms N` (src/cli/cluster_opts.h). */
#include "cluster_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"

#include "../base/file.h"
#include "../run/boot_cache.h"
#include "../run/image.h"
#include "cli.h"

static const char help[] =
	"usage: chaoscontrol run --vms N [options] [-- PROGRAM ARGS...]\n"
	"       chaoscontrol run SCENARIO.json [options] [-- PROGRAM ARGS...]\n"
	"\n"
	"A scenario file (docs/SCENARIOS.md) gives the nodes, seed, ticks,\n"
	"schedule and the rest; each option below overrides its field.\n"
	"\n"
	"Runs a cluster of N VMs (1-16) on one virtual timeline, connected\n"
	"by the simulated network, under a fault schedule.  Every VM runs\n"
	"PROGRAM (default: kvstore N); VM i is 10.0.0.<i+1>.  The same\n"
	"seed and schedule give the same execution and trace hash.\n"
	"\n"
	"  --vms N             cluster size\n"
	"  --seed S            simulation seed (default 0)\n"
	"  --ticks T           run T ticks of 1 ms (default 2000)\n"
	"  --schedule FILE     fault schedule (JSON, docs/FAULTS.md)\n"
	"  --random-faults PPM also draw a random fault each tick with\n"
	"                      this probability (from the seed)\n"
	"  --gate G            faults wait for setup_complete: all (every\n"
	"                      VM, default), vm (the fault's target), any\n"
	"                      (the first VM to say it) or none\n"
	"  --threads K         worker threads (default: one per core, at\n"
	"                      most N; 1 = sequential; same result)\n"
	"  --json              the report as JSON on stdout (console to\n"
	"                      stderr)\n"
	"  --quiet             no console output\n"
	"  --disk FILE         give every VM this disk image (each its own\n"
	"                      copy-on-write overlay)\n"
	"  --data-disk FILE    the same, and init mounts it (ext4) at /data\n"
	"  --image IMAGE       every VM's image: a spec (.json, built into\n"
	"                      an image disk), an image disk or an\n"
	"                      initramfs (docs/IMAGES.md)\n"
	"  --mem SIZE          guest RAM per VM (default 256M)\n"
	"  --platform P        auto (default), hardware or pvm\n"
	"  --no-cache          boot every VM afresh (slow on PVM)\n"
	"  --reproduce FILE    replay an explorer's reproducer (its scenario\n"
	"                      unless one is given): the same faults and\n"
	"                      seeds, checked against its bug and hash\n"
	"  --record FILE       write the run's events and checkpoints to\n"
	"                      FILE (a recording: `chaoscontrol replay`,\n"
	"                      `chaoscontrol debug`, docs/REPLAY.md)\n"
	"  --checkpoint-every K  with --record: a checkpoint every K ticks\n"
	"                      (default 100)\n"
	"  --restore-check T[:R]  take a cluster snapshot at tick T, run to\n"
	"                      the end, then restore it R times (default 1)\n"
	"                      and run to the end again: every trace hash\n"
	"                      must equal the uninterrupted run's\n"
	"\n"
	"exit status: 0 the run reached --ticks and every property held;\n"
	"1 a property failed; 2 usage; 3 set-up error; 4 a VM crashed;\n"
	"6 --restore-check found a restored run that differed, or a\n"
	"reproducer did not give its bug and trace hash.\n";

enum {
	OPT_VMS = 300,
	OPT_SEED,
	OPT_TICKS,
	OPT_SCHEDULE,
	OPT_RANDOM,
	OPT_GATE,
	OPT_THREADS,
	OPT_JSON,
	OPT_QUIET,
	OPT_DISK,
	OPT_DATA_DISK,
	OPT_IMAGE,
	OPT_MEM,
	OPT_PLATFORM,
	OPT_NO_CACHE,
	OPT_RESTORE_CHECK,
	OPT_REPRODUCE,
	OPT_HELP,
};

static const struct option longopts[] = {
	{"vms", required_argument, 0, OPT_VMS},
	{"seed", required_argument, 0, OPT_SEED},
	{"ticks", required_argument, 0, OPT_TICKS},
	{"schedule", required_argument, 0, OPT_SCHEDULE},
	{"random-faults", required_argument, 0, OPT_RANDOM},
	{"gate", required_argument, 0, OPT_GATE},
	{"threads", required_argument, 0, OPT_THREADS},
	{"json", no_argument, 0, OPT_JSON},
	{"quiet", no_argument, 0, OPT_QUIET},
	{"disk", required_argument, 0, OPT_DISK},
	{"data-disk", required_argument, 0, OPT_DATA_DISK},
	{"image", required_argument, 0, OPT_IMAGE},
	{"mem", required_argument, 0, OPT_MEM},
	{"platform", required_argument, 0, OPT_PLATFORM},
	{"no-cache", no_argument, 0, OPT_NO_CACHE},
	{"restore-check", required_argument, 0, OPT_RESTORE_CHECK},
	{"reproduce", required_argument, 0, OPT_REPRODUCE},
	{"help", no_argument, 0, OPT_HELP},
	{0, 0, 0, 0},
};

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "chaoscontrol: %s%s%s (see run --vms 1 --help)\n", what,
		*arg ? ": " : "", arg);
	return CC_EXIT_USAGE;
}

static int parse_opt(struct cc_cluster_opts *o, int c, const char *arg)
{
	uint64_t v;
	switch (c) {
	case OPT_VMS:
		if (cc_cli_parse_u64(arg, CC_SIM_MAX_VMS, &v) || v == 0)
			return bad("invalid --vms (1-16)", arg);
		o->vms = (unsigned)v;
		o->vms_given = true;
		return 0;
	case OPT_SEED:
		return cc_cli_parse_u64(arg, UINT64_MAX, &o->seed)
			       ? bad("invalid --seed", arg)
			       : 0;
	case OPT_TICKS:
		if (cc_cli_parse_u64(arg, UINT64_MAX / CC_NS_PER_TICK,
				     &o->ticks) ||
		    !o->ticks)
			return bad("invalid --ticks", arg);
		return 0;
	case OPT_RANDOM:
		if (cc_cli_parse_u64(arg, CC_PPM_ONE, &v))
			return bad("invalid --random-faults (ppm)", arg);
		o->random_ppm = (uint32_t)v;
		return 0;
	case OPT_GATE:
		if (!strcmp(arg, "all"))
			o->gate = CC_GATE_ALL;
		else if (!strcmp(arg, "vm"))
			o->gate = CC_GATE_PER_VM;
		else if (!strcmp(arg, "any"))
			o->gate = CC_GATE_ANY;
		else if (!strcmp(arg, "none"))
			o->gate = CC_GATE_NONE;
		else
			return bad("invalid --gate (all, vm, any or none)",
				   arg);
		return 0;
	case OPT_THREADS:
		if (cc_cli_parse_u64(arg, CC_WORKERS_MAX, &v) || !v)
			return bad("invalid --threads (1-16)", arg);
		o->threads = (unsigned)v;
		o->threads_given = true;
		return 0;
	case OPT_RESTORE_CHECK: {
		char tick[32];
		const char *colon = strchr(arg, ':');
		size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
		o->check_repeats = 1;
		if (len >= sizeof(tick))
			return bad("invalid --restore-check", arg);
		memcpy(tick, arg, len);
		tick[len] = 0;
		if (cc_cli_parse_u64(tick, UINT64_MAX, &o->check_at) ||
		    (colon &&
		     (cc_cli_parse_u64(colon + 1, 1000000, &o->check_repeats) ||
		      !o->check_repeats)))
			return bad("invalid --restore-check (TICK[:REPEATS])",
				   arg);
		return 0;
	}
	case OPT_MEM:
		o->mem = cc_cli_parse_size(arg);
		return o->mem ? 0 : bad("invalid --mem", arg);
	}
	return -1;
}

/* A cluster option that takes no value (the others' values may end in
 * .json: --schedule f.json, or a single VM's --trace t.json). */
static bool flag_alone(const char *a)
{
	for (const struct option *p = longopts; p->name; p++)
		if (p->has_arg == no_argument && a[0] == '-' && a[1] == '-' &&
		    !strcmp(a + 2, p->name))
			return true;
	return false;
}

int cc_cli_scenario_index(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		size_t n = strlen(argv[i]);
		bool value = i > 1 && argv[i - 1][0] == '-' &&
			     !strchr(argv[i - 1], '=') &&
			     !flag_alone(argv[i - 1]);
		if (argv[i][0] != '-' && !value && n > 5 &&
		    !strcmp(argv[i] + n - 5, ".json"))
			return i;
	}
	return 0;
}

/* The scenario's fields as the options' defaults. */
static int from_scenario(struct cc_cluster_opts *o, const char *path)
{
	struct cc_err e;
	struct cc_scenario *sc = &o->sc;
	if (cc_scenario_load(sc, path, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_USAGE;
	}
	o->vms = sc->nodes;
	if (sc->has_seed)
		o->seed = sc->seed;
	if (sc->has_ticks)
		o->ticks = sc->ticks;
	if (sc->has_random)
		o->random_ppm = sc->random_ppm;
	if (sc->has_gate)
		o->gate = sc->gate;
	if (sc->has_threads) {
		o->threads = sc->threads;
		o->threads_given = true;
	}
	o->schedule = sc->schedule_path;
	o->schedule_json = sc->schedule_json;
	o->disk = sc->disk ? sc->disk : sc->data_disk;
	o->data_disk = sc->data_disk != NULL;
	char dir[4000];
	if (sc->data_disk_bytes &&
	    (cc_cache_dir("images", dir, sizeof(dir), &e) ||
	     cc_image_blank_in_store(sc->data_disk_bytes, dir, o->blank_disk,
				     sizeof(o->blank_disk), &e))) {
		fprintf(stderr, "chaoscontrol: data_disk: %s\n", e.msg);
		return CC_EXIT_SETUP;
	}
	if (sc->data_disk_bytes) {
		o->disk = o->blank_disk;
		o->data_disk = true;
	}
	if (sc->dflt.mem)
		o->mem = sc->dflt.mem;
	return 0;
}

/* A node's image: a spec (built into the image store as an image
 * disk, once per spec), an image disk or an initramfs (run/image.h). */
static int node_image(struct cc_cluster_opts *o, unsigned i, struct cc_err *e)
{
	const char *name =
		o->image_arg ? o->image_arg : cc_scenario_image(&o->sc, i);
	if (!name)
		return 0;
	for (unsigned k = 0; k < i; k++) /* the same image: resolved */
		if (o->node_spec[k] && !strcmp(o->node_spec[k], name)) {
			o->node_initrd[i] = o->node_initrd[k];
			o->node_imgdisk[i] = o->node_imgdisk[k];
			o->node_spec[i] = name;
			return 0;
		}
	char dir[4000];
	bool as_disk;
	if (cc_cache_dir("images", dir, sizeof(dir), e) ||
	    cc_image_resolve(name, dir, o->node_image[i],
			     sizeof(o->node_image[i]), &as_disk, e))
		return -1;
	o->node_spec[i] = name;
	if (as_disk)
		o->node_imgdisk[i] = o->node_image[i];
	else
		o->node_initrd[i] = o->node_image[i];
	return 0;
}

/* Each node's program (a scenario's, or the command line's for all),
 * image and memory. */
static int per_node(struct cc_cluster_opts *o, bool argv_given)
{
	struct cc_err e;
	for (unsigned i = 0; i < o->vms; i++) {
		if (node_image(o, i, &e)) {
			fprintf(stderr, "chaoscontrol: nodes[%u].image: %s\n",
				i, e.msg);
			return CC_EXIT_SETUP;
		}
		o->node_mem[i] = cc_scenario_mem(&o->sc, i);
		o->node_cwd[i] = cc_scenario_cwd(&o->sc, i);
		if ((!argv_given && cc_scenario_argv(&o->sc, i, o->vms,
						     o->node_argv[i], &e)) ||
		    cc_scenario_env(&o->sc, i, o->vms, o->node_env[i], &e)) {
			fprintf(stderr, "chaoscontrol: %s\n", e.msg);
			return CC_EXIT_USAGE;
		}
	}
	return 0;
}

/* --reproduce FILE: loads it; without a scenario on the command line,
 * *argv gains the reproducer's (argv must have room for one more). */
static int load_reproducer(int *argc, char **argv, struct cc_cluster_opts *o)
{
	const char *path = NULL;
	for (int i = 1; i < *argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--reproduce") && i + 1 < *argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--reproduce=", 12))
			path = argv[i] + 12;
	if (!path)
		return 0;
	struct cc_err e;
	if (cc_repro_load(&o->repro, path, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_USAGE;
	}
	o->reproduce = true;
	uint64_t hash, len;
	if (!cc_file_hash64(o->repro.scenario, "scenario", &hash, &len, &e) &&
	    hash != o->repro.scenario_hash)
		fprintf(stderr,
			"chaoscontrol: warning: %s changed since the "
			"reproducer was written\n",
			o->repro.scenario);
	if (!cc_cli_scenario_index(*argc, argv)) {
		memmove(argv + 2, argv + 1, (size_t)*argc * sizeof(*argv));
		argv[1] = o->repro.scenario;
		(*argc)++;
	}
	return 0;
}

int cc_cluster_opts_parse(int argc, char **argv, struct cc_cluster_opts *o)
{
	memset(o, 0, sizeof(*o));
	static char *args[4096];
	if (argc + 2 > (int)(sizeof(args) / sizeof(args[0])))
		return bad("too many arguments", "");
	memcpy(args, argv, (size_t)(argc + 1) * sizeof(*argv));
	argv = args;
	int lr = load_reproducer(&argc, argv, o);
	if (lr)
		return lr;
	o->ticks = CC_CLUSTER_DEFAULT_TICKS;
	o->gate = CC_GATE_ALL;
	o->platform = "auto";
	optind = 1;
	int c;
	int at = cc_cli_scenario_index(argc, argv);
	if (at) {
		int rc = from_scenario(o, argv[at]);
		if (rc)
			return rc;
		/* The options without the file, for getopt. */
		for (int i = at; i + 1 < argc; i++)
			argv[i] = argv[i + 1];
		argv[--argc] = NULL;
	}
	unsigned listed = o->sc.node_list ? o->sc.nodes : 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SCHEDULE:
			o->schedule = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_DISK: /* a flag overrides a scenario's data_disk too */
			o->disk = optarg;
			o->data_disk = false;
			break;
		case OPT_DATA_DISK:
			o->data_disk = true;
			o->disk = optarg;
			break;
		case OPT_IMAGE:
			o->image_arg = optarg;
			break;
		case OPT_PLATFORM:
			o->platform = optarg;
			break;
		case OPT_NO_CACHE:
			o->no_cache = true;
			break;
		case OPT_REPRODUCE:
			break; /* loaded before (load_reproducer) */
		case OPT_HELP:
			fputs(help, stdout);
			exit(CC_EXIT_OK);
		case '?':
			return CC_EXIT_USAGE;
		default: {
			int rc = parse_opt(o, c, optarg);
			if (rc)
				return rc;
		}
		}
	}
	if (!o->vms)
		return bad("--vms is required (or a scenario's \"nodes\")", "");
	if (listed && o->vms != listed)
		return bad("--vms differs from the scenario's list of nodes",
			   "");
	if (o->reproduce) {
		if (o->vms != o->repro.nodes)
			return bad("the reproducer is for another cluster size",
				   "");
		o->seed = o->repro.seed;
		if (o->repro.until > o->ticks)
			o->ticks = o->repro.until;
	}
	if (o->check_repeats && o->check_at >= o->ticks)
		return bad("--restore-check must be before --ticks", "");
	if (!o->threads_given) { /* one per core (bench/cluster.sh) */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o->threads = cpus > 1 ? (unsigned)cpus : 1;
	}
	if (o->threads > o->vms)
		o->threads = o->vms;
	bool argv_given = optind < argc;
	int rc = per_node(o, argv_given);
	if (rc)
		return rc;
	if (argv_given) {
		o->argv = argv + optind;
	} else {
		snprintf(o->nodes_arg, sizeof(o->nodes_arg), "%u", o->vms);
		o->default_argv[0] = "/bin/kvstore";
		o->default_argv[1] = o->nodes_arg;
		o->argv = o->default_argv;
	}
	return 0;
}
