/*
 * `chaoscontrol run --vms N`: a cluster.  N VMs start from their boot
 * cache entries (booted once per machine, seed-independent: the run's
 * seed takes over at the ready point), run under the SimulationController
 * with a fault schedule, and end with a report: per-VM status, network
 * statistics, the fault log, the oracle's verdicts and the cluster trace
 * hash.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "chaoscontrol/protocol.h"

#include "../fault/oracle.h"
#include "../run/image.h"
#include "../run/ready.h"
#include "../run/scenario.h"
#include "../sim/controller.h"
#include "../vmm/cmdline.h"
#include "../vmm/snapshot.h"
#include "../run/boot_cache.h"
#include "../run/branch.h"
#include "../run/reproducer.h"
#include "../base/file.h"
#include "../run/drive.h"
#include "cli.h"
#include "report.h"

#define DEFAULT_TICKS 2000u
#define BOOT_SEED     0u /* boot cache entries do not depend on --seed */

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
	"  --restore-check T[:R]  take a cluster snapshot at tick T, run to\n"
	"                      the end, then restore it R times (default 1)\n"
	"                      and run to the end again: every trace hash\n"
	"                      must equal the uninterrupted run's\n"
	"\n"
	"exit status: 0 the run reached --ticks and every property held;\n"
	"1 a property failed; 2 usage; 3 set-up error; 4 a VM crashed;\n"
	"6 --restore-check found a restored run that differed, or a\n"
	"reproducer did not give its bug and trace hash.\n";

struct cluster_opts {
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

static int parse_opt(struct cluster_opts *o, int c, const char *arg)
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
static int from_scenario(struct cluster_opts *o, const char *path)
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
static int node_image(struct cluster_opts *o, unsigned i, struct cc_err *e)
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
static int per_node(struct cluster_opts *o, bool argv_given)
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
static int load_reproducer(int *argc, char **argv, struct cluster_opts *o)
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

static int parse(int argc, char **argv, struct cluster_opts *o)
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
	o->ticks = DEFAULT_TICKS;
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

/* --- bringing VMs to their ready points ----------------------------------- */

struct boot_job {
	const struct cluster_opts *o;
	enum cc_platform_kind kind;
	const char *cmdline, *kernel, *initrd;
	struct cc_ready ready; /* src/run/ready.h */
};

static void vm_config(const struct boot_job *j, unsigned i,
		      struct cc_vm_config *cfg)
{
	const struct cluster_opts *o = j->o;
	*cfg = (struct cc_vm_config){
		.kernel_path = j->kernel,
		.initrd_path =
			o->node_initrd[i] ? o->node_initrd[i] : j->initrd,
		.disk_path = o->disk,
		.image_path = o->node_imgdisk[i],
		.mount_data = o->data_disk,
		.cmdline = j->cmdline,
		.mem_size = o->node_mem[i] ? o->node_mem[i] : o->mem,
		.serial_fd = -1,
		.seed = BOOT_SEED,
		.vm_index = i,
		.node_count = o->vms,
		.exec_argv = (const char *const *)(o->node_argv[i][0]
							   ? o->node_argv[i]
							   : o->argv),
		.exec_env = (const char *const *)o->node_env[i],
		.exec_cwd = o->node_cwd[i],
		.watchdog_ms = cc_cli_watchdog_ms(j->kind),
	};
}

/* --- running
 * ------------------------------------------------------------------ */

struct run_state {
	FILE *console; /* NULL = quiet */
	bool progress; /* a progress bar on stderr (a TTY) */
	bool bar_shown;
	double t0, last_bar;
	uint64_t ticks; /* the horizon, for the bar */
};

static void clear_bar(struct run_state *r)
{
	if (r->bar_shown)
		fputs("\r\033[K", stderr);
	r->bar_shown = false;
}

static void on_serial(void *ctx, unsigned vm, const char *line, size_t len)
{
	struct run_state *r = ctx;
	if (!r->console)
		return;
	clear_bar(r);
	fprintf(r->console, "[vm%u] %.*s\n", vm, (int)len, line);
}

static void show_bar(struct run_state *r, const struct cc_sim *s,
		     uint64_t ticks)
{
	double now = cc_cli_wall_s();
	if (!r->progress || (now - r->last_bar < 0.2 && s->tick < ticks))
		return;
	r->last_bar = now;
	unsigned width = 30, done = (unsigned)(s->tick * width / ticks);
	char bar[64];
	for (unsigned k = 0; k < width; k++)
		bar[k] = k < done ? '#' : '.';
	bar[width] = 0;
	double wall = now - r->t0;
	fflush(r->console ? r->console : stdout);
	fprintf(stderr,
		"\r\033[K[%s] %llu/%llu ticks  %.1f s  %.0f ticks/s  "
		"%zu faults",
		bar, (unsigned long long)s->tick, (unsigned long long)ticks,
		wall, wall > 0 ? s->tick / wall : 0.0, s->engine.nlog);
	r->bar_shown = true;
}

static void on_round(void *ctx, const struct cc_sim *s)
{
	struct run_state *r = ctx;
	show_bar(r, s, r->ticks);
}

/* Runs to the horizon (src/run/drive.h); with --restore-check,
 * snapshots the cluster at its tick into *snap on the way. */
static int simulate(struct cc_sim *s, const struct cluster_opts *o,
		    struct run_state *r, struct cc_sim_snapshot **snap)
{
	struct cc_err e;
	struct cc_drive d = {o->ticks, o->check_at, snap, on_round, r};
	int rc = cc_drive(s, &d, &e);
	clear_bar(r);
	if (rc)
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
	return rc;
}

/* --restore-check: every run restored from the snapshot must end with
 * the uninterrupted run's hash.  Returns how many differed, -1 on error. */
static long restore_check(struct cc_sim *s, const struct cluster_opts *o,
			  struct run_state *r, struct cc_sim_snapshot *snap)
{
	uint64_t want = cc_sim_trace_hash(s), bad = 0;
	struct cc_err e;
	FILE *console = r->console;
	r->console = NULL; /* the output was shown once */
	struct cc_drive d = {o->ticks, 0, NULL, on_round, r};
	long differed = cc_drive_restore_check(s, &d, snap, o->check_repeats,
					       want, &bad, &e);
	clear_bar(r);
	r->console = console;
	if (differed < 0) {
		fprintf(stderr, "chaoscontrol: restore-check: %s\n", e.msg);
		return -1;
	}
	if (differed)
		fprintf(stderr,
			"chaoscontrol: restore-check: a restored run ended "
			"with %016llx, not %016llx\n",
			(unsigned long long)bad, (unsigned long long)want);
	fprintf(stderr,
		"chaoscontrol: restore-check: %llu/%llu runs "
		"restored at tick %llu matched trace-hash %016llx\n",
		(unsigned long long)(o->check_repeats - (uint64_t)differed),
		(unsigned long long)o->check_repeats,
		(unsigned long long)o->check_at, (unsigned long long)want);
	return differed;
}

/* --- the command
 * ----------------------------------------------------------------- */

static int setup_sim(struct cc_sim *s, const struct cluster_opts *o,
		     struct boot_job *j, struct run_state *r)
{
	struct cc_err e;
	struct cc_schedule sched = {0};
	if ((o->schedule &&
	     cc_schedule_load(&sched, o->schedule, o->vms, &e)) ||
	    (!o->schedule && o->schedule_json &&
	     cc_schedule_parse(&sched, o->schedule_json,
			       strlen(o->schedule_json), o->vms, &e))) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_USAGE;
	}
	struct cc_ready *rd = &j->ready;
	rd->n = o->vms;
	rd->platform = (int)j->kind;
	rd->no_cache = o->no_cache;
	rd->threads = o->threads;
	for (unsigned i = 0; i < o->vms; i++)
		vm_config(j, i, &rd->cfg[i]);
	if (cc_ready_all(rd)) {
		cc_schedule_free(&sched);
		return CC_EXIT_SETUP;
	}
	struct cc_sim_config cfg = {
		.threads = o->threads,
		.seed = o->seed,
		.on_serial = on_serial,
		.ctx = r,
		.engine = {.gate = o->gate, .rate_ppm = o->random_ppm},
	};
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		cfg.engine.kinds[k] = true;
	if (cc_sim_init(s, rd->vm, o->vms, &sched, &cfg, &e)) {
		cc_schedule_free(&sched);
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_SETUP;
	}
	return 0;
}

/* --- --reproduce ------------------------------------------------------------
 */

static void close_cluster(struct cluster_opts *o, struct cc_sim *s)
{
	cc_sim_free(s);
	for (unsigned i = 0; i < o->vms; i++) {
		cc_scenario_argv_free(o->node_argv[i]);
		cc_scenario_argv_free(o->node_env[i]);
	}
	cc_scenario_free(&o->sc);
}

static int repro_exit(const struct cc_repro *rp,
		      const struct cc_branch_result *res)
{
	uint64_t got = res->trace_hash;
	bool same = !rp->trace_hash || got == rp->trace_hash;
	bool bug = false;
	for (size_t k = 0; rp->has_bug && k < res->nbugs; k++)
		bug |= res->bug[k].kind == rp->bug.kind &&
		       !strcmp(res->bug[k].id, rp->bug.id);
	if (rp->has_bug)
		printf("reproduce: %s \"%s\": %s\n",
		       cc_bug_kind_name(rp->bug.kind), rp->bug.what,
		       bug ? "reproduced" : "NOT reproduced");
	printf("reproduce: trace-hash %016llx %s %016llx\n",
	       (unsigned long long)got, same ? "matches" : "DIFFERS from",
	       (unsigned long long)rp->trace_hash);
	if (!same || (rp->has_bug && !bug))
		return CC_EXIT_DIVERGED;
	if (!rp->has_bug)
		return CC_EXIT_OK;
	return rp->bug.kind == CC_BUG_CRASH ? CC_EXIT_GUEST_CRASH
					    : CC_EXIT_GUEST_FAIL;
}

/* The explorer's path from the start, then its last branch watched as
 * the explorer watched it (run/branch.h). */
static int reproduce(struct cluster_opts *o, struct run_state *r,
		     struct cc_sim *s)
{
	const struct cc_repro *rp = &o->repro;
	struct cc_err e;
	static struct cc_branch_result res;
	struct cc_branch_opts bo = {rp->until, rp->stall_ticks,
				    rp->stop_at_bug};
	r->t0 = cc_cli_wall_s();
	s->engine.cfg.rate_ppm = 0; /* the explorer's faults only */
	int rc = cc_engine_set_future(&s->engine, NULL, 0) ? -1 : 0;
	if (rc)
		cc_err_set(&e, "out of memory");
	if (!rc)
		rc = cc_path_replay(s, &rp->path, rp->path.n, &e);
	if (!rc)
		rc = cc_branch_run(s, &bo, &res, &e);
	clear_bar(r);
	if (rc) {
		fprintf(stderr, "chaoscontrol: reproduce: %s\n", e.msg);
		close_cluster(o, s);
		return CC_EXIT_SETUP;
	}
	fflush(r->console ? r->console : stdout);
	cc_cluster_print_text(s, &res.oracle, cc_cli_wall_s() - r->t0);
	rc = repro_exit(rp, &res);
	cc_branch_result_free(&res);
	cc_repro_free(&o->repro);
	close_cluster(o, s);
	return rc;
}

/* Everything up to the first round: options, guest, boots, the sim. */
static int open_cluster(int argc, char **argv, struct cluster_opts *o,
			struct boot_job *j, struct run_state *r,
			struct cc_sim *s)
{
	int rc = parse(argc, argv, o);
	if (rc)
		return rc;
	static char kernel[4096], initrd[4096], cmdline[4096];
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", cc_cli_guest_dir());
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio",
		 cc_cli_guest_dir());
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		fprintf(stderr,
			"chaoscontrol: the default guest is not built "
			"(%s): run `make` first\n",
			cc_cli_guest_dir());
		return CC_EXIT_SETUP;
	}
	*j = (struct boot_job){
		.o = o, .kernel = kernel, .initrd = initrd, .cmdline = cmdline};
	if (cc_cli_platform(o->platform, &j->kind))
		return CC_EXIT_SETUP;
	fprintf(stderr, "chaoscontrol: platform: %s\n",
		cc_platform_name(j->kind));
	char devices[256];
	struct cc_err e;
	cc_vm_virtio_cmdline(o->disk != NULL, devices, sizeof(devices));
	struct cc_cmdline_opts co = {j->kind, false, false, devices, NULL};
	if (cc_cmdline_build(cmdline, sizeof(cmdline), &co, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_USAGE;
	}
	*r = (struct run_state){
		.console = o->quiet  ? NULL
			   : o->json ? stderr
				     : stdout,
		.progress = isatty(STDERR_FILENO),
		.ticks = o->ticks,
	};
	return setup_sim(s, o, j, r);
}

int cc_cmd_cluster(int argc, char **argv)
{
	static struct cluster_opts o;
	static struct boot_job j;
	static struct run_state r;
	static struct cc_sim s;
	int rc = open_cluster(argc, argv, &o, &j, &r, &s);
	if (rc)
		return rc;
	if (o.reproduce)
		return reproduce(&o, &r, &s);
	r.t0 = cc_cli_wall_s();
	struct cc_sim_snapshot *snap = NULL;
	int failed = simulate(&s, &o, &r, o.check_repeats ? &snap : NULL);
	double wall = cc_cli_wall_s() - r.t0;
	long differed = 0;
	if (!failed && snap)
		differed = restore_check(&s, &o, &r, snap);
	cc_sim_snapshot_free(snap);
	struct cc_oracle orc = {0};
	cc_sim_fold_oracle(&s, &orc);
	fflush(r.console ? r.console : stdout);
	if (o.json)
		cc_cluster_print_json(&s, o.seed, &orc, wall, j.kind);
	else
		cc_cluster_print_text(&s, &orc, wall);
	rc = failed || differed < 0 ? CC_EXIT_SETUP
	     : differed		    ? CC_EXIT_DIVERGED
				    : cc_cluster_exit_code(&s, &orc);
	cc_oracle_free(&orc);
	close_cluster(&o, &s);
	return rc;
}

/* --- the explorer's cluster ------------------------------------------------
 */

struct cc_cli_cluster {
	struct cluster_opts o;
	struct boot_job j;
	struct run_state r;
	struct cc_sim s;
};

int cc_cli_cluster_open(int argc, char **argv, struct cc_cli_cluster **out,
			struct cc_cli_cluster_info *info)
{
	struct cc_cli_cluster *c = calloc(1, sizeof(*c));
	if (!c) {
		fprintf(stderr, "chaoscontrol: out of memory\n");
		return CC_EXIT_SETUP;
	}
	int rc = open_cluster(argc, argv, &c->o, &c->j, &c->r, &c->s);
	if (rc) {
		free(c);
		return rc;
	}
	*info = (struct cc_cli_cluster_info){
		.sim = &c->s,
		.ticks = c->o.ticks,
		.seed = c->o.seed,
		.nodes = c->o.vms,
		.kind = c->j.kind,
	};
	*out = c;
	return 0;
}

void cc_cli_cluster_close(struct cc_cli_cluster *c)
{
	if (!c)
		return;
	close_cluster(&c->o, &c->s);
	free(c);
}
