#include "explorer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chaoscontrol/protocol.h"

#include "../base/array.h"
#include "output.h"
#include "state.h"
#include "worker.h"

/* Wall time, for budgets and reports only: never reaches a guest or a
 * campaign's result. */
double cc_explore_wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --- the root ----------------------------------------------------------- */

/* Every worker's cluster to the root; they must agree on it, bit for
 * bit, or the platform is not deterministic here. */
static int reach_roots(struct cc_explorer *x, struct cc_err *err)
{
	uint64_t hash0 = 0;
	for (unsigned id = 0; id < x->nworkers; id++) {
		uint64_t tick, hash;
		if (cc_worker_root(&x->w[id], x->cfg.ticks, &tick, &hash, err))
			return -1;
		if (!id) {
			x->root_tick = tick;
			hash0 = hash;
		} else if (tick != x->root_tick || hash != hash0) {
			return cc_err_set(
				err,
				"worker %u reached the root at tick "
				"%llu with trace hash %016llx, worker "
				"0 at %llu with %016llx: the platform "
				"is not deterministic here",
				id, (unsigned long long)tick,
				(unsigned long long)hash,
				(unsigned long long)x->root_tick,
				(unsigned long long)hash0);
		}
	}
	x->root = x->w[0].root;
	return 0;
}

int cc_explore_init(struct cc_explorer *x, struct cc_sim *const *sims,
		    unsigned nsims, const struct cc_explore_config *cfg,
		    struct cc_err *err)
{
	memset(x, 0, sizeof(*x));
	x->cfg = *cfg;
	x->t0 = cc_explore_wall_s();
	if (!x->cfg.horizon || !x->cfg.round || !x->cfg.max_snapshots)
		return cc_err_set(err, "horizon, round and snapshots must be "
				       "at least 1");
	if (!nsims || nsims > CC_EXPLORE_MAX_WORKERS)
		return cc_err_set(err, "1 to %u workers",
				  CC_EXPLORE_MAX_WORKERS);
	x->nworkers = nsims;
	x->s = sims[0];
	cc_entropy_init(&x->rng, cfg->seed ^ 0x4558504C4F5245ull);
	for (unsigned id = 0; id < nsims; id++) {
		struct cc_sim *s = sims[id];
		x->w[id] = (struct cc_explore_worker){.id = id, .s = s};
		/* No schedule but the explorer's, no random faults but its
		 * own. */
		s->engine.cfg.rate_ppm = 0;
		if (cc_engine_set_future(&s->engine, NULL, 0))
			return cc_err_set(err, "out of memory");
	}
	if (reach_roots(x, err))
		return -1;
	struct cc_entry root = {.tick = x->root_tick, .hash = 0};
	root.hash = cc_sim_trace_hash(x->s);
	if (cc_array_grow(&x->e, &x->cap, 0, sizeof(*x->e), 64))
		return cc_err_set(err, "out of memory");
	x->e[x->n++] = root;
	x->snap_bytes = cc_sim_snapshot_bytes(x->root);
	if (cc_out_init(x, err) || (x->cfg.resume && cc_state_load(x, err)))
		return -1;
	/* Saved before the first branch too, so a campaign killed in its
	 * first round resumes with its own configuration. */
	return cc_state_save(x, err);
}

void cc_explore_free(struct cc_explorer *x)
{
	for (size_t k = 0; k < x->n; k++) {
		cc_sim_snapshot_free(x->e[k].snap);
		cc_path_free(&x->e[k].path);
	}
	free(x->e);
	for (unsigned id = 0; id < x->nworkers; id++)
		cc_sim_snapshot_free(x->w[id].root);
	for (size_t k = 0; k < x->ngoals; k++)
		free(x->goals[k]);
	free(x->goals);
	for (size_t k = 0; k < x->nbugs; k++)
		cc_repro_free(&x->bug[k].repro);
	free(x->bug);
	free(x->plot);
	memset(x, 0, sizeof(*x));
}

/* --- planning ------------------------------------------------------------- */

/* Can entry k be branched from: its state lies before the end. */
static bool open_entry(const struct cc_explorer *x, size_t k)
{
	return x->e[k].tick < x->cfg.ticks && !x->e[k].retired;
}

/*
 * Energy: entries that found more, and were picked less, are picked
 * more; every open entry keeps a share (docs/EXPLORE.md).  Integers, so
 * the choice is the same on every machine.
 */
static uint64_t energy(const struct cc_entry *e)
{
	return (1 + 4 * e->finds) * 1024 / (1 + e->picked);
}

static size_t pick_entry(struct cc_explorer *x)
{
	uint64_t total = 0;
	for (size_t k = 0; k < x->n; k++)
		if (open_entry(x, k))
			total += energy(&x->e[k]);
	uint64_t r = cc_entropy_below(&x->rng, total);
	for (size_t k = 0; k < x->n; k++) {
		if (!open_entry(x, k))
			continue;
		uint64_t w = energy(&x->e[k]);
		if (r < w)
			return k;
		r -= w;
	}
	return 0;
}

static void make_fork(struct cc_explorer *x, struct cc_plan *p, bool reseed,
		      uint64_t seed)
{
	struct cc_fork *f = &p->fork;
	memset(f, 0, sizeof(*f));
	f->at = x->e[p->entry].tick;
	f->reseed = reseed;
	f->seed = seed;
	for (size_t k = 0; k < p->tmpl.n; k++) {
		struct cc_fault a = p->tmpl.f[k];
		a.at_ns += f->at * CC_NS_PER_TICK;
		if (a.at_ns < p->until * CC_NS_PER_TICK &&
		    !cc_fault_canon(&a, x->s->n))
			f->fault[f->nfaults++] = a;
	}
}

/*
 * Input-tree mode: one to three of the guests' next random draws (each
 * of a random VM, among its next four) get another answer: the least
 * (0, e.g. the shortest election timeout) half the time, a fresh value
 * otherwise - extremes a uniform stream rarely gives, and draws of two
 * VMs forced together.
 */
static void force_choices(struct cc_explorer *x, struct cc_fork *f)
{
	unsigned n = 1 + (unsigned)cc_entropy_below(&x->rng, 3);
	for (unsigned k = 0; k < n; k++) {
		struct cc_fork_choice *c = &f->choice[f->nchoices++];
		c->vm = (uint32_t)cc_entropy_below(&x->rng, x->s->n);
		c->offset = (uint32_t)cc_entropy_below(&x->rng, 4);
		c->value = cc_entropy_below(&x->rng, 2)
				   ? 0
				   : cc_entropy_u64(&x->rng);
	}
}

static void plan_branch(struct cc_explorer *x, struct cc_plan *p)
{
	struct cc_mut_config mc = {
		.nvms = x->s->n,
		.max_faults = x->cfg.max_faults,
	};
	memcpy(mc.kinds, x->cfg.kinds, sizeof(mc.kinds));
	memset(p, 0, sizeof(*p));
	uint64_t seed = cc_entropy_u64(&x->rng);
	if (x->cfg.random) {
		uint64_t len = x->cfg.ticks - x->root_tick;
		uint64_t per = (len + x->cfg.horizon - 1) / x->cfg.horizon;
		mc.horizon_ns = len * CC_NS_PER_TICK;
		mc.max_faults = (unsigned)(x->cfg.max_faults * per);
		cc_mut_random(&mc, &x->rng, &p->tmpl);
		p->op = CC_MUT_RANDOM;
		p->until = x->cfg.ticks;
		make_fork(x, p, true, seed);
		return;
	}
	p->entry = pick_entry(x);
	const struct cc_entry *e = &x->e[p->entry];
	const struct cc_entry *other = &x->e[cc_entropy_below(&x->rng, x->n)];
	p->until = e->tick + x->cfg.horizon;
	if (p->until > x->cfg.ticks)
		p->until = x->cfg.ticks;
	mc.horizon_ns = (p->until - e->tick) * CC_NS_PER_TICK;
	bool reseed;
	/* Only the fork operator reseeds: a new seed on every branch (with
	 * empty templates started from a whole random schedule) measured
	 * worse (docs/EXPLORE.md, "Measured"). */
	p->op = cc_mutate(&mc, &x->rng, &e->tmpl, &other->tmpl, &p->tmpl,
			  &reseed);
	make_fork(x, p, reseed, seed);
	if (x->cfg.choices && !cc_entropy_below(&x->rng, 3))
		force_choices(x, &p->fork);
}

/* --- merging a round ------------------------------------------------------
 */

/* Frees the least recently used snapshot past the budget (never the
 * root's): rebuilding it costs time, never a different result. */
static void evict(struct cc_explorer *x)
{
	while (x->live_snaps > x->cfg.max_snapshots) {
		size_t victim = 0;
		for (size_t k = 1; k < x->n; k++)
			if (x->e[k].snap &&
			    (!victim ||
			     x->e[k].last_used < x->e[victim].last_used))
				victim = k;
		if (!victim)
			return;
		cc_sim_snapshot_free(x->e[victim].snap);
		x->e[victim].snap = NULL;
		x->live_snaps--;
	}
}

/* --- what a branch found -----------------------------------------------------
 */

static uint64_t fold_coverage(struct cc_explorer *x, const uint8_t *cov,
			      uint64_t *new_buckets)
{
	uint64_t edges = 0;
	*new_buckets = 0;
	for (size_t k = 0; k < CC_COVERAGE_SIZE; k++) {
		uint8_t b = cov[k];
		if (!b)
			continue;
		if (!x->cov.seen[k])
			edges++;
		if (b & ~x->cov.seen[k])
			(*new_buckets)++;
		x->cov.seen[k] |= b;
	}
	x->cov.edges += edges;
	x->cov.runs++;
	return edges;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `sometimes` true or `reachable` reached for the first time. */
static uint64_t fold_goals(struct cc_explorer *x, const struct cc_oracle *o)
{
	uint64_t n = 0;
	for (size_t k = 0; k < o->n; k++) {
		const char *id = o->p[k].id;
		if (!cc_goal_met(&o->p[k]) || !id ||
		    bsearch(&id, x->goals, x->ngoals, sizeof(char *), cmp_str))
			continue;
		char **g = realloc(x->goals, (x->ngoals + 1) * sizeof(*g));
		if (!g)
			break;
		x->goals = g;
		x->goals[x->ngoals++] = strdup(id);
		qsort(x->goals, x->ngoals, sizeof(char *), cmp_str);
		n++;
	}
	return n;
}

static uint64_t fold_combos(struct cc_explorer *x, const struct cc_plan *p,
			    const struct cc_branch_result *r)
{
	struct cc_combos c;
	cc_branch_combos(p, r, &c);
	uint64_t n = cc_combos_new(&c, &x->combos);
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		x->combos.bits[k] |= c.bits[k];
	return n;
}

static bool known_bug(const struct cc_explorer *x, const struct cc_bug_sig *b)
{
	for (size_t k = 0; k < x->nbugs; k++)
		if (x->bug[k].sig.kind == b->kind &&
		    !strcmp(x->bug[k].sig.id, b->id))
			return true;
	return false;
}

static void repro_for(const struct cc_explorer *x, const struct cc_path *p,
		      uint64_t until, struct cc_repro *r)
{
	*r = x->cfg.base;
	memset(&r->path, 0, sizeof(r->path));
	r->has_bug = false;
	r->until = until;
	r->stall_ticks = x->cfg.stall_ticks;
	r->stop_at_bug = true;
	cc_path_copy(&r->path, p);
}

/* path run from the root as its last branch ran, coverage into r->cov. */
static int from_root(struct cc_explorer *x, const struct cc_path *path,
		     uint64_t until, struct cc_branch_result *r,
		     struct cc_err *err)
{
	struct cc_branch_opts o = {until, x->cfg.stall_ticks, true};
	if (cc_sim_restore(x->s, x->root, err) ||
	    cc_path_replay(x->s, path, path->n, err) ||
	    cc_branch_run(x->s, &o, r, err))
		return -1;
	return 0;
}

bool cc_explore_has_new_bug(const struct cc_explorer *x,
			    const struct cc_branch_result *r)
{
	for (size_t k = 0; k < r->nbugs; k++)
		if (!known_bug(x, &r->bug[k]))
			return true;
	return false;
}

/* Could the merge make r an entry (what it checks besides novelty). */
static bool may_be_entry(const struct cc_explorer *x, const struct cc_plan *p,
			 const struct cc_branch_result *r)
{
	return !x->cfg.random && !r->nbugs && !r->watchdog_fires &&
	       r->ticks == p->until && p->until < x->cfg.ticks;
}

/* What check_root() made of a branch's new bug. */
enum root_check { ROOT_SAME, ROOT_TRUTH, ROOT_UNSTABLE };

/*
 * A branch with a bug new to the campaign runs again along its path from
 * the root; the bug is reported only if a run comes back with the
 * branch's trace hash (up to three runs: the platform's faults strike
 * runs from the root too).  When two runs from the root agree with each
 * other and not with the branch, the root is right and the branch's
 * start state was not (on nested TCG an entry snapshot has been seen to
 * crash every branch from it while its path from the root never did):
 * the root's run becomes the outcome, the entry's snapshot is dropped
 * (rebuilt from an ancestor, hash-checked, when next used), and the
 * campaign goes on as a clean one would.  Three different hashes:
 * unstable, the branch counts for nothing.
 */
static int check_root(struct cc_explorer *x, const struct cc_plan *p,
		      const struct cc_path *path, struct cc_outcome *o,
		      enum root_check *verdict, struct cc_err *err)
{
	double t = cc_explore_wall_s();
	static struct cc_branch_result r[3];
	int rc = 0, agree = -1;
	size_t n = 0;
	*verdict = ROOT_UNSTABLE;
	for (; n < 3 && !rc; n++) {
		memset(&r[n], 0, sizeof(r[n]));
		if (!(r[n].cov = malloc(CC_COVERAGE_SIZE))) {
			rc = cc_err_set(err, "out of memory");
			break;
		}
		if ((rc = from_root(x, path, p->until, &r[n], err)))
			break;
		if (r[n].trace_hash == o->res.trace_hash) {
			*verdict = ROOT_SAME;
			n++;
			break;
		}
		x->outvoted++;
		for (size_t k = 0; k < n && agree < 0; k++)
			if (r[k].trace_hash == r[n].trace_hash)
				agree = (int)n;
		if (agree >= 0) {
			*verdict = ROOT_TRUTH;
			n++;
			break;
		}
	}
	if (!rc && *verdict != ROOT_SAME)
		fprintf(stderr,
			"explore: branch %llu: the branch ended with trace "
			"hash %016llx, its path from the root with %016llx%s\n",
			(unsigned long long)x->branches,
			(unsigned long long)o->res.trace_hash,
			(unsigned long long)r[n - 1].trace_hash,
			*verdict == ROOT_TRUTH
				? " twice: the root's run stands, the entry's "
				  "snapshot is dropped"
				: ", and again otherwise: unstable, it counts "
				  "for nothing");
	if (!rc && *verdict == ROOT_TRUTH) {
		cc_outcome_take(o, &r[agree]);
		cc_sim_snapshot_free(o->snap);
		o->snap = NULL;
		struct cc_entry *e = &x->e[p->entry];
		if (e->id && e->snap) {
			cc_sim_snapshot_free(e->snap);
			e->snap = NULL;
			x->live_snaps--;
		}
		/* x->s is worker 0's cluster at the root run's end. */
		if (may_be_entry(x, p, &o->res)) {
			rc = cc_sim_snapshot(x->s, &o->snap, err);
			o->snap_by_merge = true;
		}
	}
	for (size_t k = 0; k < n; k++) {
		free(r[k].cov);
		cc_branch_result_free(&r[k]);
	}
	x->verify_s += cc_explore_wall_s() - t;
	return rc;
}

static int report_bugs(struct cc_explorer *x, const struct cc_path *p,
		       const struct cc_branch_result *res, uint64_t until,
		       size_t entry, struct cc_err *err)
{
	for (size_t k = 0; k < res->nbugs; k++) {
		if (known_bug(x, &res->bug[k]))
			continue;
		struct cc_found f = {.sig = res->bug[k],
				     .branch = x->branches,
				     .entry = x->e[entry].id,
				     .found_s = cc_explore_wall_s() - x->t0};
		repro_for(x, p, until, &f.repro);
		f.repro.has_bug = true;
		f.repro.bug = res->bug[k];
		f.repro.trace_hash = res->trace_hash;
		int rc = 0;
		if (cc_array_grow(&x->bug, &x->cap_bugs, x->nbugs,
				  sizeof(*x->bug), 8)) {
			rc = cc_err_set(err, "out of memory");
		} else {
			x->bug[x->nbugs++] = f;
			x->last_find = x->branches;
			rc = cc_out_bug(x, &x->bug[x->nbugs - 1], res, err);
			memset(&f.repro, 0, sizeof(f.repro));
		}
		cc_repro_free(&f.repro);
		if (rc)
			return -1;
	}
	return 0;
}

/* The branch's end state (its snapshot taken by its worker) becomes an
 * entry. */
/* What a branch brought: a new entry needs one of them. */
struct news {
	uint64_t edges, buckets, goals, combos;
};

static int add_entry(struct cc_explorer *x, const struct cc_plan *p,
		     const struct cc_path *path, struct cc_outcome *o,
		     const struct news *nw, struct cc_err *err)
{
	const struct cc_branch_result *res = &o->res;
	struct cc_entry e = {
		.id = x->n,
		.parent = x->e[p->entry].id,
		.tick = res->ticks,
		.hash = res->trace_hash,
		.tmpl = p->tmpl,
		.op = p->op,
		.new_edges = nw->edges,
		.new_goals = nw->goals,
		.new_combos = nw->combos,
		.found_at = x->branches,
		.last_used = x->branches,
		.snap = o->snap,
		.owner = o->snap_by_merge ? 0 : p->worker,
	};
	if (!o->snap) /* the worker saw it new, or the merge could not */
		return cc_err_set(err,
				  "internal: branch %llu has no end "
				  "state to keep",
				  (unsigned long long)x->branches);
	if (cc_path_copy(&e.path, path) ||
	    cc_array_grow(&x->e, &x->cap, x->n, sizeof(*x->e), 64))
		return cc_err_set(err, "out of memory");
	o->snap = NULL; /* the entry's now */
	x->snap_bytes = cc_sim_snapshot_bytes(e.snap);
	x->live_snaps++;
	x->e[x->n++] = e;
	x->e[p->entry].finds++;
	x->last_find = x->branches;
	if (e.path.n > x->max_depth)
		x->max_depth = e.path.n;
	evict(x);
	return cc_out_entry(x, &x->e[x->n - 1], nw->edges || nw->buckets,
			    nw->goals, nw->combos, res, err);
}

static void add_timing(struct cc_explorer *x, const struct cc_outcome *o)
{
	x->watchdog_retries += o->watchdog_retries;
	x->outvoted += o->outvoted;
	x->restores += o->restores;
	x->rebuilds += o->rebuilds;
	x->divergences += o->divergences;
	x->restore_s += o->restore_s;
	x->run_s += o->run_s;
}

/* One branch's outcome into the campaign, as if it had just run here:
 * the merge is the campaign's only writer, and runs in plan order. */
static int merge(struct cc_explorer *x, const struct cc_plan *p,
		 struct cc_outcome *o, struct cc_err *err)
{
	if (o->rc) {
		*err = o->err;
		return o->rc < 0 ? -1
				 : cc_err_set(err, "internal: branch not run");
	}
	add_timing(x, o);
	struct cc_entry *from = &x->e[p->entry];
	from->picked++;
	from->last_used = x->branches;
	if (o->retired) { /* its state never came back: not run */
		from->retired = true;
		return 0;
	}
	x->branches++;
	x->ticks_run += o->res.ticks - o->res.start;
	cc_net_stats_add(&x->net, &o->res.net, &(struct cc_net_stats){0});
	if (o->res.watchdog_fires) { /* not reproducible: counts for nothing */
		x->watchdog_branches++;
		return 0;
	}
	if (o->unstable) { /* three runs, three hashes: the same */
		x->unstable_branches++;
		return 0;
	}
	struct cc_path path;
	if (cc_path_copy(&path, &from->path) || cc_path_push(&path, &p->fork))
		return cc_err_set(err, "out of memory");
	int rc = 0;
	enum root_check verdict = ROOT_SAME;
	if (cc_explore_has_new_bug(x, &o->res) &&
	    check_root(x, p, &path, o, &verdict, err)) {
		cc_path_free(&path);
		return -1;
	}
	if (verdict == ROOT_UNSTABLE) {
		x->unverified++;
		cc_path_free(&path);
		return 0;
	}
	struct news nw = {0};
	nw.edges = fold_coverage(x, o->res.cov, &nw.buckets);
	nw.goals = fold_goals(x, &o->res.oracle);
	uint64_t combos = fold_combos(x, p, &o->res); /* reported either way */
	nw.combos = x->cfg.combos ? combos : 0;
	if (o->res.nbugs) {
		rc = report_bugs(x, &path, &o->res, p->until, p->entry, err);
	} else if ((nw.edges || nw.buckets || nw.goals || nw.combos) &&
		   !x->cfg.random && o->res.ticks == p->until &&
		   p->until < x->cfg.ticks) {
		rc = add_entry(x, p, &path, o, &nw, err);
	}
	cc_path_free(&path);
	return rc;
}

static void outcome_clear(struct cc_outcome *o)
{
	cc_branch_result_free(&o->res);
	cc_sim_snapshot_free(o->snap);
	o->snap = NULL;
}

/* --- the campaign
 * ------------------------------------------------------------- */

static bool budget_left(const struct cc_explorer *x)
{
	if (x->cfg.branches && x->branches >= x->cfg.branches)
		return false;
	if (x->cfg.time_s > 0 && cc_explore_wall_s() - x->t0 >= x->cfg.time_s)
		return false;
	return true;
}

struct round {
	struct cc_plan *plan;
	struct cc_outcome *out;
};

static void round_free(struct round *r, unsigned n)
{
	for (unsigned k = 0; r->out && k < n; k++) {
		outcome_clear(&r->out[k]);
		free(r->out[k].res.cov);
	}
	free(r->out);
	free(r->plan);
}

static int round_alloc(struct round *r, unsigned n)
{
	r->plan = calloc(n, sizeof(*r->plan));
	r->out = calloc(n, sizeof(*r->out));
	if (!r->plan || !r->out)
		return -1;
	for (unsigned k = 0; k < n; k++)
		if (!(r->out[k].res.cov = malloc(CC_COVERAGE_SIZE)))
			return -1;
	return 0;
}

/* Plans first, from the corpus as the round found it; then the workers
 * run them; then their outcomes are merged in plan order. */
static int run_round(struct cc_explorer *x, struct round *r, unsigned n,
		     struct cc_err *err)
{
	for (unsigned k = 0; k < n; k++)
		plan_branch(x, &r->plan[k]);
	cc_workers_assign(x, r->plan, n);
	int rc = cc_workers_round(x, r->plan, r->out, n, err);
	for (unsigned k = 0; !rc && k < n; k++) {
		rc = merge(x, &r->plan[k], &r->out[k], err);
		if (!rc && x->cfg.on_status)
			x->cfg.on_status(x->cfg.ctx, x);
	}
	for (unsigned k = 0; k < n; k++)
		outcome_clear(&r->out[k]);
	return rc;
}

int cc_explore_run(struct cc_explorer *x, struct cc_err *err)
{
	struct round r = {0};
	if (round_alloc(&r, x->cfg.round)) {
		round_free(&r, x->cfg.round);
		return cc_err_set(err, "out of memory");
	}
	int rc = 0;
	while (!rc && budget_left(x)) {
		unsigned n = x->cfg.round;
		if (x->cfg.branches && x->cfg.branches - x->branches < n)
			n = (unsigned)(x->cfg.branches - x->branches);
		rc = run_round(x, &r, n, err);
		x->rounds++;
		if (!rc)
			rc = cc_out_round(x, err);
		if (!rc) /* the round is done: a kill from here on resumes */
			rc = cc_state_save(x, err);
	}
	round_free(&r, x->cfg.round);
	return rc;
}

double cc_explore_elapsed(const struct cc_explorer *x)
{
	return x->resumed_s + cc_explore_wall_s() - x->t0;
}
