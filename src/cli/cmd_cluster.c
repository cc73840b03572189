/*
 * `chaoscontrol run --vms N`: a cluster.  N VMs start from their boot
 * cache entries (booted once per machine, seed-independent: the run's
 * seed takes over at the ready point), run under the SimulationController
 * with a fault schedule, and end with a report: per-VM status, network
 * statistics, the fault log, the oracle's verdicts and the cluster trace
 * hash.
 */
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
#include "../replay/observer.h"
#include "../replay/recording.h"
#include "cli.h"
#include "cluster_opts.h"
#include "report.h"

#define BOOT_SEED 0u /* boot cache entries do not depend on --seed */

/* --- bringing VMs to their ready points ----------------------------------- */

struct boot_job {
	const struct cc_cluster_opts *o;
	enum cc_platform_kind kind;
	const char *cmdline, *kernel, *initrd;
	struct cc_ready ready; /* src/run/ready.h */
};

static void vm_config(const struct boot_job *j, unsigned i,
		      struct cc_vm_config *cfg)
{
	const struct cc_cluster_opts *o = j->o;
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
		.spin_ms = cc_cli_spin_ms(j->kind),
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
static int simulate(struct cc_sim *s, const struct cc_cluster_opts *o,
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
static long restore_check(struct cc_sim *s, const struct cc_cluster_opts *o,
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

static int setup_sim(struct cc_sim *s, const struct cc_cluster_opts *o,
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

static void close_cluster(struct cc_cluster_opts *o, struct cc_sim *s)
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
static int reproduce_run(struct cc_cluster_opts *o, struct cc_sim *s,
			 struct cc_branch_result *res, struct cc_err *e)
{
	const struct cc_repro *rp = &o->repro;
	struct cc_branch_opts bo = {rp->until, rp->stall_ticks,
				    rp->stop_at_bug};
	s->engine.cfg.rate_ppm = 0; /* the explorer's faults only */
	if (cc_engine_set_future(&s->engine, NULL, 0))
		return cc_err_set(e, "out of memory");
	if (cc_path_replay(s, &rp->path, rp->path.n, e))
		return -1;
	return cc_branch_run(s, &bo, res, e);
}

/* Everything up to the first round: options, guest, boots, the sim. */
static int open_cluster(int argc, char **argv, struct cc_cluster_opts *o,
			struct boot_job *j, struct run_state *r,
			struct cc_sim *s)
{
	int rc = cc_cluster_opts_parse(argc, argv, o);
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

/* --- recordings ------------------------------------------------------------
 */

struct record_opts {
	const char *path;
	uint64_t every;
};

/* Takes --record FILE and --checkpoint-every K out of argv (before any
 * "--"), so what is left is the run a recording names.  0 or usage. */
static int take_record_opts(int *argc, char **argv, struct record_opts *ro)
{
	*ro = (struct record_opts){NULL, CC_OBS_DEFAULT_EVERY};
	bool every_given = false;
	int out = 1, i = 1;
	for (; i < *argc && strcmp(argv[i], "--"); i++) {
		bool rec = !strcmp(argv[i], "--record");
		bool every = !strcmp(argv[i], "--checkpoint-every");
		if (!rec && !every) {
			argv[out++] = argv[i];
			continue;
		}
		if (i + 1 >= *argc) {
			fprintf(stderr, "chaoscontrol: %s needs a value\n",
				argv[i]);
			return CC_EXIT_USAGE;
		}
		if (rec)
			ro->path = argv[++i];
		else if (cc_cli_parse_u64(argv[++i], 1u << 30, &ro->every) ||
			 !ro->every) {
			fprintf(stderr,
				"chaoscontrol: --checkpoint-every wants a "
				"number of ticks, not '%s'\n",
				argv[i]);
			return CC_EXIT_USAGE;
		}
		every_given |= every;
	}
	while (i < *argc)
		argv[out++] = argv[i++];
	argv[out] = NULL;
	*argc = out;
	if (every_given && !ro->path) {
		fprintf(stderr, "chaoscontrol: --checkpoint-every needs "
				"--record\n");
		return CC_EXIT_USAGE;
	}
	return 0;
}

/* `run --record`: the run as it would go, observed into the file. */
struct recording {
	struct cc_recorder w;
	struct cc_observer ob;
};

static int start_recording(struct recording *rec, struct cc_sim *s,
			   const struct record_opts *ro, int argc, char **argv)
{
	struct cc_err e;
	if (cc_recorder_open(&rec->w, ro->path, argc - 1, argv + 1, ro->every,
			     &e)) {
		fprintf(stderr, "chaoscontrol: record: %s\n", e.msg);
		return -1;
	}
	if (cc_observer_attach(&rec->ob, s, ro->every, cc_recorder_event,
			       &rec->w, &e)) {
		fprintf(stderr, "chaoscontrol: record: %s\n", e.msg);
		cc_observer_detach(&rec->ob);
		cc_recorder_abandon(&rec->w);
		return -1;
	}
	return 0;
}

/* The last checkpoint and the end line; the file appears only now. */
static int finish_recording(struct recording *rec, struct cc_sim *s,
			    const char *path)
{
	struct cc_err e;
	int rc = rec->ob.failed;
	if (rc)
		e = rec->ob.err;
	else
		rc = cc_observer_checkpoint(&rec->ob, &e);
	cc_observer_detach(&rec->ob);
	uint64_t events = rec->w.events, cps = rec->w.checkpoints,
		 bugs = rec->w.bugs;
	if (!rc)
		rc = cc_recorder_commit(&rec->w, s->tick, cc_sim_trace_hash(s),
					&e);
	else
		cc_recorder_abandon(&rec->w);
	if (rc) {
		fprintf(stderr, "chaoscontrol: record: %s\n", e.msg);
		return -1;
	}
	fprintf(stderr,
		"chaoscontrol: recorded %s: %llu events, %llu checkpoints, "
		"%llu bugs\n",
		path, (unsigned long long)events, (unsigned long long)cps,
		(unsigned long long)bugs);
	return 0;
}

static int reproduce(struct cc_cluster_opts *o, struct run_state *r,
		     struct cc_sim *s, struct recording *rec, const char *path)
{
	const struct cc_repro *rp = &o->repro;
	struct cc_err e;
	static struct cc_branch_result res;
	r->t0 = cc_cli_wall_s();
	int rc = reproduce_run(o, s, &res, &e);
	clear_bar(r);
	if (rc)
		fprintf(stderr, "chaoscontrol: reproduce: %s\n", e.msg);
	if (rec && finish_recording(rec, s, path) && !rc) {
		cc_branch_result_free(&res);
		rc = -1;
	}
	if (rc) {
		cc_repro_free(&o->repro);
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

static int report_and_close(struct cc_cluster_opts *o, struct boot_job *j,
			    struct run_state *r, struct cc_sim *s, int failed,
			    long differed, double wall)
{
	struct cc_oracle orc = {0};
	cc_sim_fold_oracle(s, &orc);
	fflush(r->console ? r->console : stdout);
	if (o->json)
		cc_cluster_print_json(s, o->seed, &orc, wall, j->kind);
	else
		cc_cluster_print_text(s, &orc, wall);
	int rc = failed || differed < 0 ? CC_EXIT_SETUP
		 : differed		? CC_EXIT_DIVERGED
					: cc_cluster_exit_code(s, &orc);
	cc_oracle_free(&orc);
	close_cluster(o, s);
	return rc;
}

int cc_cmd_cluster(int argc, char **argv)
{
	static struct cc_cluster_opts o;
	static struct boot_job j;
	static struct run_state r;
	static struct cc_sim s;
	static struct recording rec;
	struct record_opts ro;
	int rc = take_record_opts(&argc, argv, &ro);
	if (rc)
		return rc;
	rc = open_cluster(argc, argv, &o, &j, &r, &s);
	if (rc)
		return rc;
	if (ro.path && o.check_repeats) {
		fprintf(stderr, "chaoscontrol: --record and --restore-check "
				"do not go together (a restore rewinds the "
				"events)\n");
		close_cluster(&o, &s);
		return CC_EXIT_USAGE;
	}
	if (ro.path && start_recording(&rec, &s, &ro, argc, argv)) {
		close_cluster(&o, &s);
		return CC_EXIT_SETUP;
	}
	if (o.reproduce)
		return reproduce(&o, &r, &s, ro.path ? &rec : NULL, ro.path);
	r.t0 = cc_cli_wall_s();
	struct cc_sim_snapshot *snap = NULL;
	int failed = simulate(&s, &o, &r, o.check_repeats ? &snap : NULL);
	double wall = cc_cli_wall_s() - r.t0;
	if (ro.path && finish_recording(&rec, &s, ro.path))
		failed = -1;
	long differed = 0;
	if (!failed && snap)
		differed = restore_check(&s, &o, &r, snap);
	cc_sim_snapshot_free(snap);
	return report_and_close(&o, &j, &r, &s, failed, differed, wall);
}

/* --- the explorer's cluster ------------------------------------------------
 */

struct cc_cli_cluster {
	struct cc_cluster_opts o;
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

/* A recording's run again, observed (`replay`, `debug`): the same
 * execution `run` made, to its end (cmd_replay.c). */
int cc_cli_cluster_execute(struct cc_cli_cluster *c, struct cc_err *err)
{
	if (c->o.reproduce) {
		static struct cc_branch_result res;
		int rc = reproduce_run(&c->o, &c->s, &res, err);
		if (!rc)
			cc_branch_result_free(&res);
		return rc;
	}
	struct cc_drive d = {c->o.ticks, 0, NULL, NULL, NULL};
	return cc_drive(&c->s, &d, err);
}
