/*
 * `chaoscontrol explore SCENARIO`: a campaign of the Explorer
 * (src/explore/explorer.h) over a scenario's cluster, with its output
 * directory, a status screen on a TTY and plain lines otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../base/file.h"
#include "../explore/explorer.h"
#include "../explore/output.h"
#include "../explore/state.h"
#include "cli.h"

static const char help[] =
	"usage: chaoscontrol explore SCENARIO.json [options]\n"
	"\n"
	"Searches the scenario's fault schedules and random choices for a\n"
	"property that breaks, branching from cluster snapshots, guided by\n"
	"the guests' edge coverage and SDK goals (docs/EXPLORE.md).  The\n"
	"scenario gives the cluster, its seed and its end (ticks); the\n"
	"explorer makes its own schedules.  Every bug it reports was re-run\n"
	"from the root and came back with the same trace hash; its\n"
	"reproducer replays with `chaoscontrol run --reproduce FILE`.\n"
	"\n"
	"  --branches N      budget in branches (default 200)\n"
	"  --time S          budget in wall seconds (results then depend on\n"
	"                    the machine; a branch budget does not)\n"
	"  --seed S          campaign seed (default 0)\n"
	"  --out DIR         output directory (default explore-out); it must\n"
	"                    not exist yet, but with --resume\n"
	"  --resume          go on with the campaign in --out (its options\n"
	"                    are kept; a new --branches extends it)\n"
	"  --choices         input-tree mode: branches also force some of the\n"
	"                    guests' next random_choice/get_random answers\n"
	"  --combos          a new fault/status combination (a crash whose VM\n"
	"                    ends killed, ...) makes an entry too\n"
	"  --random          the random baseline: every branch a fresh random\n"
	"                    schedule from the root to the end, no feedback\n"
	"  --horizon T       ticks per branch (default 500)\n"
	"  --stall-ticks T   a running VM with no SDK call, frame or console\n"
	"                    line for T ticks is a bug (default 400; 0 off)\n"
	"  --kinds K,K...    fault kinds to draw from (default: partition,\n"
	"                    heal, loss, latency, pause, restart, crash,\n"
	"                    clock_jump; names as in docs/FAULTS.md)\n"
	"  --max-faults N    faults per branch (default 6)\n"
	"  --round N         branches planned per round (default 8)\n"
	"  --snapshots N     entry snapshots kept in memory (default 64;\n"
	"                    the others are rebuilt from an ancestor)\n"
	"  --workers K       clusters running branches at once (default 1;\n"
	"                    the results are the same with any K)\n"
	"  --json            print the final report (report.json) on stdout\n"
	"  --threads, --mem, --platform, --no-cache  as for `run`\n"
	"\n"
	"exit status: 0 no bug found; 1 bugs found; 2 usage; 3 set-up error.\n";

struct explore_opts {
	struct cc_explore_config cfg;
	bool json, branches_given;
	unsigned workers;
	const char *scenario;
	char *run_argv[32];
	int run_argc;
};

enum {
	OPT_BRANCHES = 400,
	OPT_TIME,
	OPT_SEED,
	OPT_OUT,
	OPT_RANDOM,
	OPT_CHOICES,
	OPT_COMBOS,
	OPT_HORIZON,
	OPT_STALL,
	OPT_KINDS,
	OPT_MAX_FAULTS,
	OPT_ROUND,
	OPT_SNAPSHOTS,
	OPT_JSON,
	OPT_RESUME,
	OPT_PASS,      /* handed to `run`'s parser, with a value */
	OPT_PASS_FLAG, /* ... without one */
	OPT_WORKERS,
	OPT_HELP,
};

static const struct option longopts[] = {
	{"branches", required_argument, 0, OPT_BRANCHES},
	{"time", required_argument, 0, OPT_TIME},
	{"seed", required_argument, 0, OPT_SEED},
	{"out", required_argument, 0, OPT_OUT},
	{"random", no_argument, 0, OPT_RANDOM},
	{"choices", no_argument, 0, OPT_CHOICES},
	{"combos", no_argument, 0, OPT_COMBOS},
	{"horizon", required_argument, 0, OPT_HORIZON},
	{"stall-ticks", required_argument, 0, OPT_STALL},
	{"kinds", required_argument, 0, OPT_KINDS},
	{"max-faults", required_argument, 0, OPT_MAX_FAULTS},
	{"round", required_argument, 0, OPT_ROUND},
	{"snapshots", required_argument, 0, OPT_SNAPSHOTS},
	{"json", no_argument, 0, OPT_JSON},
	{"threads", required_argument, 0, OPT_PASS},
	{"mem", required_argument, 0, OPT_PASS},
	{"platform", required_argument, 0, OPT_PASS},
	{"no-cache", no_argument, 0, OPT_PASS_FLAG},
	{"resume", no_argument, 0, OPT_RESUME},
	{"workers", required_argument, 0, OPT_WORKERS},
	{"help", no_argument, 0, OPT_HELP},
	{0, 0, 0, 0},
};

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "chaoscontrol: explore: %s%s%s (see explore --help)\n",
		what, *arg ? ": " : "", arg);
	return CC_EXIT_USAGE;
}

static const enum cc_fault_kind default_kinds[] = {
	CC_FAULT_NETWORK_PARTITION, CC_FAULT_NETWORK_HEAL,
	CC_FAULT_PACKET_LOSS,	    CC_FAULT_NETWORK_LATENCY,
	CC_FAULT_PROCESS_PAUSE,	    CC_FAULT_PROCESS_RESTART,
	CC_FAULT_PROCESS_CRASH,	    CC_FAULT_CLOCK_JUMP,
};

static int parse_kinds(struct explore_opts *o, const char *arg)
{
	char buf[1024];
	if (strlen(arg) >= sizeof(buf))
		return bad("--kinds too long", "");
	snprintf(buf, sizeof(buf), "%s", arg);
	memset(o->cfg.kinds, 0, sizeof(o->cfg.kinds));
	for (char *save, *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		enum cc_fault_kind k = cc_fault_kind_of(t);
		if (k == CC_FAULT__COUNT)
			return bad("unknown fault kind in --kinds", t);
		o->cfg.kinds[k] = true;
	}
	return 0;
}

static int number(const char *opt, const char *arg, uint64_t max, uint64_t *v)
{
	return cc_cli_parse_u64(arg, max, v) ? bad(opt, arg) : 0;
}

static int parse_opt(struct explore_opts *o, int c, const char *arg)
{
	uint64_t v;
	struct cc_explore_config *cfg = &o->cfg;
	switch (c) {
	case OPT_BRANCHES:
		o->branches_given = true;
		return number("invalid --branches", arg, UINT32_MAX,
			      &cfg->branches);
	case OPT_TIME:
		if (number("invalid --time (seconds)", arg, 1u << 30, &v))
			return CC_EXIT_USAGE;
		cfg->time_s = (double)v;
		return 0;
	case OPT_SEED:
		return number("invalid --seed", arg, UINT64_MAX, &cfg->seed);
	case OPT_HORIZON:
		if (number("invalid --horizon", arg, 1u << 30, &cfg->horizon) ||
		    !cfg->horizon)
			return bad("invalid --horizon", arg);
		return 0;
	case OPT_STALL:
		return number("invalid --stall-ticks", arg, 1u << 30,
			      &cfg->stall_ticks);
	case OPT_MAX_FAULTS:
		if (number("invalid --max-faults", arg, CC_FORK_MAX_FAULTS,
			   &v) ||
		    !v)
			return bad("invalid --max-faults (1-32)", arg);
		cfg->max_faults = (unsigned)v;
		return 0;
	case OPT_ROUND:
		if (number("invalid --round", arg, 1024, &v) || !v)
			return bad("invalid --round (1-1024)", arg);
		cfg->round = (unsigned)v;
		return 0;
	case OPT_SNAPSHOTS:
		if (number("invalid --snapshots", arg, 1u << 20, &v) || !v)
			return bad("invalid --snapshots", arg);
		cfg->max_snapshots = (size_t)v;
		return 0;
	case OPT_KINDS:
		return parse_kinds(o, arg);
	case OPT_WORKERS:
		if (number("invalid --workers", arg, CC_EXPLORE_MAX_WORKERS,
			   &v) ||
		    !v)
			return bad("invalid --workers (1-16)", arg);
		o->workers = (unsigned)v;
		return 0;
	}
	return -1;
}

static int parse(int argc, char **argv, struct explore_opts *o)
{
	memset(o, 0, sizeof(*o));
	struct cc_explore_config *cfg = &o->cfg;
	cfg->branches = 200;
	cfg->horizon = 500;
	cfg->stall_ticks = 400;
	cfg->max_faults = 6;
	cfg->round = 8;
	cfg->max_snapshots = 64;
	cfg->out = "explore-out";
	o->workers = 1;
	for (size_t k = 0; k < sizeof(default_kinds) / sizeof(*default_kinds);
	     k++)
		cfg->kinds[default_kinds[k]] = true;
	o->run_argv[o->run_argc++] = "run";
	o->run_argv[o->run_argc++] = NULL; /* the scenario */
	o->run_argv[o->run_argc++] = "--quiet";
	optind = 1;
	int c, idx;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		switch (c) {
		case OPT_OUT:
			cfg->out = optarg;
			break;
		case OPT_RANDOM:
			cfg->random = true;
			break;
		case OPT_CHOICES:
			cfg->choices = true;
			break;
		case OPT_COMBOS:
			cfg->combos = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_RESUME:
			cfg->resume = true;
			break;
		case OPT_PASS:
		case OPT_PASS_FLAG:
			if (o->run_argc + 3 >= 32)
				return bad("too many options", "");
			o->run_argv[o->run_argc++] = c == OPT_PASS
							     ? argv[optind - 2]
							     : argv[optind - 1];
			if (c == OPT_PASS)
				o->run_argv[o->run_argc++] = optarg;
			break;
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
	if (optind != argc - 1)
		return bad("one scenario file is needed", "");
	o->scenario = argv[optind];
	o->run_argv[1] = argv[optind];
	if (!o->branches_given && cfg->time_s > 0)
		cfg->branches = 0;
	return 0;
}

/* --- status ------------------------------------------------------------------
 */

struct status {
	bool tty;
	double last;
};

static void on_status(void *ctx, const struct cc_explorer *x)
{
	struct status *st = ctx;
	double el = cc_explore_elapsed(x);
	bool done = x->cfg.branches && x->branches >= x->cfg.branches;
	if (!done && el - st->last < (st->tty ? 0.5 : 30.0))
		return;
	st->last = el;
	double rate = el > 0 ? x->branches * 60.0 / el : 0;
	if (!st->tty) {
		fprintf(stderr,
			"explore: %.0f s, %llu branches (%.1f/min), corpus "
			"%zu, edges %llu, goals %zu, bugs %zu\n",
			el, (unsigned long long)x->branches, rate, x->n,
			(unsigned long long)x->cov.edges, x->ngoals, x->nbugs);
		return;
	}
	fprintf(stderr,
		"\033[H\033[2J"
		"chaoscontrol explore  %s  (%s)\n\n"
		"  elapsed    %8.0f s        branches  %8llu  (%.1f/min)\n"
		"  corpus     %8zu          depth     %8llu\n"
		"  edges      %8llu          goals     %8zu\n"
		"  bugs       %8zu          last find  branch %llu\n"
		"  watchdog   %8llu          unverified %7llu\n"
		"  restores   %8llu          rebuilds  %8llu\n",
		x->cfg.base.scenario, x->cfg.random ? "random" : "guided", el,
		(unsigned long long)x->branches, rate, x->n,
		(unsigned long long)x->max_depth,
		(unsigned long long)x->cov.edges, x->ngoals, x->nbugs,
		(unsigned long long)x->last_find,
		(unsigned long long)x->watchdog_branches,
		(unsigned long long)x->unverified,
		(unsigned long long)x->restores,
		(unsigned long long)x->rebuilds);
	for (unsigned id = 0; id < x->nworkers; id++)
		fprintf(stderr, "  worker %-3u %llu branches, at tick %llu\n",
			id, (unsigned long long)x->w[id].done,
			(unsigned long long)x->w[id].s->tick);
}

/* --- the command
 * --------------------------------------------------------------- */

static int prepare_out(struct explore_opts *o)
{
	const char *out = o->cfg.out;
	struct stat st;
	if (o->cfg.resume) {
		struct cc_err e;
		bool found;
		if (stat(out, &st) || !S_ISDIR(st.st_mode)) {
			fprintf(stderr,
				"chaoscontrol: explore: --resume: %s is not a "
				"campaign's directory\n",
				out);
			return CC_EXIT_USAGE;
		}
		if (cc_state_config(out, &o->cfg, o->branches_given, &found,
				    &e)) {
			fprintf(stderr, "chaoscontrol: explore: --resume: %s\n",
				e.msg);
			return CC_EXIT_USAGE;
		}
		fprintf(stderr, "explore: resuming %s%s\n", out,
			found ? "" : " (no round had ended: from the start)");
		return 0;
	}
	if (!stat(out, &st)) {
		fprintf(stderr,
			"chaoscontrol: explore: %s exists: give another --out, "
			"or --resume to go on with its campaign\n",
			out);
		return CC_EXIT_USAGE;
	}
	if (mkdir(out, 0755) < 0) {
		fprintf(stderr, "chaoscontrol: explore: %s: %s\n", out,
			strerror(errno));
		return CC_EXIT_SETUP;
	}
	return 0;
}

static int set_base(struct explore_opts *o,
		    const struct cc_cli_cluster_info *ci)
{
	struct cc_repro *b = &o->cfg.base;
	struct cc_err e;
	uint64_t len;
	if (!realpath(o->scenario, b->scenario) ||
	    cc_file_hash64(b->scenario, "scenario", &b->scenario_hash, &len,
			   &e)) {
		fprintf(stderr, "chaoscontrol: explore: %s: cannot read it\n",
			o->scenario);
		return CC_EXIT_USAGE;
	}
	b->nodes = ci->nodes;
	b->seed = ci->seed;
	o->cfg.ticks = ci->ticks;
	return 0;
}

static void print_end(const struct cc_explorer *x, bool json)
{
	json_t *rep = cc_explore_report(x, true);
	if (json) {
		json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		printf("explore: %llu branches in %.0f s, corpus %zu, edges "
		       "%llu, goals %zu, %llu watchdog branches, %llu "
		       "unverified\n",
		       (unsigned long long)x->branches, cc_explore_elapsed(x),
		       x->n, (unsigned long long)x->cov.edges, x->ngoals,
		       (unsigned long long)x->watchdog_branches,
		       (unsigned long long)x->unverified);
		for (size_t k = 0; k < x->nbugs; k++)
			printf("bug %s: %s \"%s\" at branch %llu (depth %zu): "
			       "%s/bugs/%s/reproducer.json\n",
			       x->bug[k].dir,
			       cc_bug_kind_name(x->bug[k].sig.kind),
			       x->bug[k].sig.what,
			       (unsigned long long)x->bug[k].branch,
			       x->bug[k].repro.path.n, x->cfg.out,
			       x->bug[k].dir);
		if (!x->nbugs)
			printf("explore: no bug found\n");
	}
	json_decref(rep);
}

static void close_all(struct cc_cli_cluster **cl, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		cc_cli_cluster_close(cl[k]);
}

/* One cluster per worker, each booted as `run` would boot it. */
static int open_all(struct explore_opts *o, struct cc_cli_cluster **cl,
		    struct cc_sim **sims)
{
	struct cc_cli_cluster_info ci;
	o->run_argv[o->run_argc] = NULL;
	for (unsigned k = 0; k < o->workers; k++) {
		int rc = cc_cli_cluster_open(o->run_argc, o->run_argv, &cl[k],
					     &ci);
		if (!rc && !k)
			rc = set_base(o, &ci);
		if (rc) {
			close_all(cl, k + 1); /* a failed open left NULL */
			return rc;
		}
		sims[k] = ci.sim;
	}
	return 0;
}

int cc_cmd_explore(int argc, char **argv)
{
	static struct explore_opts o;
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	if ((rc = prepare_out(&o)))
		return rc;
	struct cc_cli_cluster *cl[CC_EXPLORE_MAX_WORKERS] = {0};
	struct cc_sim *sims[CC_EXPLORE_MAX_WORKERS];
	if ((rc = open_all(&o, cl, sims)))
		return rc;
	struct status st = {isatty(STDERR_FILENO), -1e9};
	o.cfg.on_status = on_status;
	o.cfg.ctx = &st;
	static struct cc_explorer x;
	struct cc_err e;
	rc = cc_explore_init(&x, sims, o.workers, &o.cfg, &e);
	if (!rc) {
		fprintf(stderr,
			"explore: root at tick %llu; %s, %llu branches of %llu "
			"ticks, campaign seed %llu, %u worker%s, output in "
			"%s\n",
			(unsigned long long)x.root_tick,
			o.cfg.random ? "random baseline" : "guided",
			(unsigned long long)o.cfg.branches,
			(unsigned long long)o.cfg.horizon,
			(unsigned long long)o.cfg.seed, o.workers,
			o.workers == 1 ? "" : "s", o.cfg.out);
		rc = cc_explore_run(&x, &e);
	}
	if (rc) {
		fprintf(stderr, "chaoscontrol: explore: %s\n", e.msg);
		rc = CC_EXIT_SETUP;
	} else {
		print_end(&x, o.json);
		rc = x.nbugs ? CC_EXIT_GUEST_FAIL : CC_EXIT_OK;
	}
	cc_explore_free(&x);
	close_all(cl, o.workers);
	return rc;
}
