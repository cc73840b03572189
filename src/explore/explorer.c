#include "explorer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chaoscontrol/protocol.h"

#include "../base/array.h"
#include "output.h"
#include "state.h"

/* Wall time, for budgets and reports only: never reaches a guest or a
 * campaign's result. */
static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --- the root ----------------------------------------------------------- */

static int reach_root(struct cc_explorer *x, struct cc_err *err)
{
	struct cc_sim *s = x->s;
	while (!cc_engine_gate_open(&s->engine)) {
		if (s->tick >= x->cfg.ticks || cc_sim_done(s))
			return cc_err_set(err,
					  "the scenario's gate never opened "
					  "(no setup_complete by tick %llu)",
					  (unsigned long long)s->tick);
		if (cc_sim_step_round(s, err))
			return -1;
	}
	x->root_tick = s->tick;
	if (x->root_tick >= x->cfg.ticks)
		return cc_err_set(err,
				  "the gate opened at tick %llu, at the "
				  "scenario's end",
				  (unsigned long long)x->root_tick);
	return cc_sim_snapshot(s, &x->root, err);
}

int cc_explore_init(struct cc_explorer *x, struct cc_sim *s,
		    const struct cc_explore_config *cfg, struct cc_err *err)
{
	memset(x, 0, sizeof(*x));
	x->cfg = *cfg;
	x->s = s;
	x->t0 = wall_s();
	if (!x->cfg.horizon || !x->cfg.round || !x->cfg.max_snapshots)
		return cc_err_set(err, "horizon, round and snapshots must be "
				       "at least 1");
	cc_entropy_init(&x->rng, cfg->seed ^ 0x4558504C4F5245ull);
	x->branch_cov = calloc(1, CC_COVERAGE_SIZE);
	if (!x->branch_cov)
		return cc_err_set(err, "out of memory");
	/* No schedule but the explorer's, no random faults but its own. */
	s->engine.cfg.rate_ppm = 0;
	if (cc_engine_set_future(&s->engine, NULL, 0))
		return cc_err_set(err, "out of memory");
	if (reach_root(x, err))
		return -1;
	struct cc_entry root = {.tick = x->root_tick, .snap = x->root};
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
		if (x->e[k].snap && x->e[k].snap != x->root)
			cc_sim_snapshot_free(x->e[k].snap);
		cc_path_free(&x->e[k].path);
	}
	free(x->e);
	cc_sim_snapshot_free(x->root);
	for (size_t k = 0; k < x->ngoals; k++)
		free(x->goals[k]);
	free(x->goals);
	for (size_t k = 0; k < x->nbugs; k++)
		cc_repro_free(&x->bug[k].repro);
	free(x->bug);
	free(x->branch_cov);
	free(x->plot);
	memset(x, 0, sizeof(*x));
}

/* --- planning ------------------------------------------------------------- */

struct plan {
	size_t entry;
	enum cc_mut_op op;
	struct cc_fork fork;
	struct cc_tmpl tmpl; /* the fork's faults, relative */
	uint64_t until;
};

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

static void make_fork(struct cc_explorer *x, struct plan *p, bool reseed,
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

static void plan_branch(struct cc_explorer *x, struct plan *p)
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
	p->op = cc_mutate(&mc, &x->rng, &e->tmpl, &other->tmpl, &p->tmpl,
			  &reseed);
	make_fork(x, p, reseed, seed);
}

/* --- running a branch -------------------------------------------------------
 */

/* The nearest ancestor of e whose snapshot is kept (the root's always
 * is): an entry's path is its parent's and one fork more. */
static const struct cc_entry *kept_ancestor(const struct cc_explorer *x,
					    const struct cc_entry *e)
{
	while (e->id && !e->snap)
		e = &x->e[e->parent];
	return e;
}

/* Entry e's state rebuilt from its nearest kept ancestor along its path:
 * true when it came back with the trace hash it had. */
static int rebuild(struct cc_explorer *x, const struct cc_entry *e, bool *same,
		   struct cc_err *err)
{
	const struct cc_entry *a = kept_ancestor(x, e);
	x->rebuilds++;
	if (cc_sim_restore(x->s, a->snap, err) ||
	    cc_path_replay_from(x->s, &e->path, a->path.n, e->path.n, err))
		return -1;
	while (x->s->tick < e->tick && !cc_sim_done(x->s))
		if (cc_sim_step_round(x->s, err))
			return -1;
	*same = cc_sim_trace_hash(x->s) == e->hash;
	return 0;
}

/* The cluster at entry k's state: its snapshot, or rebuilt from the
 * nearest kept ancestor (the path names the state, so the hash must come back;
 * a rebuild that does not is a determinism failure of the platform or ours:
 * counted, tried again, and the entry retired if it never does). */
static int enter(struct cc_explorer *x, size_t k, bool *ok, struct cc_err *err)
{
	struct cc_entry *e = &x->e[k];
	double t = wall_s();
	x->restores++;
	*ok = true;
	if (e->snap) {
		int rc = cc_sim_restore(x->s, e->snap, err);
		x->restore_s += wall_s() - t;
		return rc;
	}
	for (int tries = 0; tries < 3; tries++) {
		if (rebuild(x, e, ok, err))
			return -1;
		if (*ok)
			break;
		x->divergences++;
		fprintf(stderr,
			"explore: entry %llu rebuilt from the root ended with "
			"trace hash %016llx, not %016llx (try %d of 3)\n",
			(unsigned long long)e->id,
			(unsigned long long)cc_sim_trace_hash(x->s),
			(unsigned long long)e->hash, tries + 1);
	}
	if (!*ok)
		e->retired = true;
	x->restore_s += wall_s() - t;
	return 0;
}

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

static uint64_t fold_coverage(struct cc_explorer *x, uint64_t *new_buckets)
{
	uint64_t edges = 0;
	*new_buckets = 0;
	for (size_t k = 0; k < CC_COVERAGE_SIZE; k++) {
		uint8_t b = x->branch_cov[k];
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
		const struct cc_property *p = &o->p[k];
		bool met =
			p->assert_type &&
			((!strcmp(p->assert_type, "sometimes") && p->passes) ||
			 (!strcmp(p->assert_type, "reachability") &&
			  p->must_hit && p->hits));
		const char *id = p->id;
		if (!met || !id ||
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

/* Re-runs a bug's path from the root: reported only if the same bug
 * comes back with the same trace hash. */
static int verify(struct cc_explorer *x, struct cc_repro *r,
		  const struct cc_branch_result *first, bool *ok,
		  struct cc_branch_result *again, struct cc_err *err)
{
	double t = wall_s();
	struct cc_branch_opts o = {r->until, r->stall_ticks, true};
	*ok = false;
	again->cov = NULL;
	if (cc_sim_restore(x->s, x->root, err) ||
	    cc_path_replay(x->s, &r->path, r->path.n, err) ||
	    cc_branch_run(x->s, &o, again, err))
		return -1;
	x->verify_s += wall_s() - t;
	if (again->trace_hash != first->trace_hash)
		return 0;
	for (size_t k = 0; k < again->nbugs; k++)
		if (again->bug[k].kind == r->bug.kind &&
		    !strcmp(again->bug[k].id, r->bug.id))
			*ok = true;
	return 0;
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
				     .found_s = wall_s() - x->t0};
		repro_for(x, p, until, &f.repro);
		f.repro.has_bug = true;
		f.repro.bug = res->bug[k];
		f.repro.trace_hash = res->trace_hash;
		bool ok;
		static struct cc_branch_result again;
		int rc = verify(x, &f.repro, res, &ok, &again, err);
		if (!rc && ok) {
			if (cc_array_grow(&x->bug, &x->cap_bugs, x->nbugs,
					  sizeof(*x->bug), 8)) {
				rc = cc_err_set(err, "out of memory");
			} else {
				x->bug[x->nbugs++] = f;
				x->last_find = x->branches;
				rc = cc_out_bug(x, &x->bug[x->nbugs - 1],
						&again, err);
				memset(&f.repro, 0, sizeof(f.repro));
			}
		} else if (!rc) {
			/* Not reported: say why, for whoever chases it. */
			x->unverified++;
			fprintf(stderr,
				"explore: branch %llu: %s \"%s\" did not come "
				"back from the root (trace hash %016llx there, "
				"%016llx in the branch): not reported\n",
				(unsigned long long)x->branches,
				cc_bug_kind_name(f.sig.kind), f.sig.what,
				(unsigned long long)again.trace_hash,
				(unsigned long long)res->trace_hash);
		}
		cc_repro_free(&f.repro);
		cc_branch_result_free(&again);
		if (rc)
			return -1;
	}
	return 0;
}

static int add_entry(struct cc_explorer *x, const struct plan *p,
		     const struct cc_path *path,
		     const struct cc_branch_result *res, uint64_t edges,
		     uint64_t buckets, uint64_t goals, struct cc_err *err)
{
	struct cc_entry e = {
		.id = x->n,
		.parent = x->e[p->entry].id,
		.tick = res->ticks,
		.hash = res->trace_hash,
		.tmpl = p->tmpl,
		.op = p->op,
		.new_edges = edges,
		.new_goals = goals,
		.found_at = x->branches,
		.last_used = x->branches,
	};
	(void)buckets;
	if (cc_path_copy(&e.path, path) ||
	    cc_array_grow(&x->e, &x->cap, x->n, sizeof(*x->e), 64))
		return cc_err_set(err, "out of memory");
	if (cc_sim_snapshot(x->s, &e.snap, err)) {
		cc_path_free(&e.path);
		return -1;
	}
	x->snap_bytes = cc_sim_snapshot_bytes(e.snap);
	x->live_snaps++;
	x->e[x->n++] = e;
	x->e[p->entry].finds++;
	x->last_find = x->branches;
	if (e.path.n > x->max_depth)
		x->max_depth = e.path.n;
	evict(x);
	return cc_out_entry(x, &x->e[x->n - 1], edges, buckets, goals, res,
			    err);
}

static int run_branch(struct cc_explorer *x, const struct plan *p,
		      struct cc_err *err)
{
	static struct cc_branch_result res;
	struct cc_entry *from = &x->e[p->entry];
	from->picked++;
	from->last_used = x->branches;
	struct cc_path path;
	if (cc_path_copy(&path, &from->path) || cc_path_push(&path, &p->fork))
		return cc_err_set(err, "out of memory");
	int rc = 0;
	/* A watchdog firing is the host's doing (a preempted guest, or, on
	 * nested TCG, the platform stalling): the branch runs again from
	 * its state, and only one that fires every time is given up. */
	for (int attempt = 0; attempt < 3; attempt++) {
		bool entered;
		rc = enter(x, p->entry, &entered, err);
		if (!rc && !entered) { /* retired: the branch is not run */
			cc_path_free(&path);
			return 0;
		}
		double t = wall_s();
		struct cc_branch_opts o = {p->until, x->cfg.stall_ticks, true};
		res.cov = x->branch_cov;
		if (!rc)
			rc = cc_fork_apply(x->s, &p->fork, err);
		if (!rc)
			rc = cc_branch_run(x->s, &o, &res, err);
		x->run_s += wall_s() - t;
		if (rc || !res.watchdog_fires)
			break;
		x->watchdog_retries++;
		if (attempt < 2)
			cc_branch_result_free(&res);
	}
	if (rc) {
		cc_path_free(&path);
		return -1;
	}
	x->branches++;
	x->ticks_run += res.ticks - res.start;
	if (res.watchdog_fires) { /* not reproducible: it counts for nothing */
		x->watchdog_branches++;
		cc_branch_result_free(&res);
		cc_path_free(&path);
		return 0;
	}
	uint64_t buckets, edges = fold_coverage(x, &buckets);
	uint64_t goals = fold_goals(x, &res.oracle);
	if (res.nbugs) {
		rc = report_bugs(x, &path, &res, p->until, p->entry, err);
	} else if ((edges || buckets || goals) && !x->cfg.random &&
		   res.ticks == p->until && p->until < x->cfg.ticks) {
		rc = add_entry(x, p, &path, &res, edges, buckets, goals, err);
	}
	cc_branch_result_free(&res);
	cc_path_free(&path);
	return rc;
}

/* --- the campaign
 * ------------------------------------------------------------- */

static bool budget_left(const struct cc_explorer *x)
{
	if (x->cfg.branches && x->branches >= x->cfg.branches)
		return false;
	if (x->cfg.time_s > 0 && wall_s() - x->t0 >= x->cfg.time_s)
		return false;
	return true;
}

int cc_explore_run(struct cc_explorer *x, struct cc_err *err)
{
	struct plan *round = calloc(x->cfg.round, sizeof(*round));
	if (!round)
		return cc_err_set(err, "out of memory");
	int rc = 0;
	while (!rc && budget_left(x)) {
		/* Plans first, from the corpus as the round found it. */
		unsigned n = x->cfg.round;
		if (x->cfg.branches && x->cfg.branches - x->branches < n)
			n = (unsigned)(x->cfg.branches - x->branches);
		for (unsigned k = 0; k < n; k++)
			plan_branch(x, &round[k]);
		for (unsigned k = 0; !rc && k < n; k++) {
			rc = run_branch(x, &round[k], err);
			if (!rc && x->cfg.on_status)
				x->cfg.on_status(x->cfg.ctx, x);
		}
		x->rounds++;
		if (!rc)
			rc = cc_out_round(x, err);
		if (!rc) /* the round is done: a kill from here on resumes */
			rc = cc_state_save(x, err);
	}
	free(round);
	return rc;
}

double cc_explore_elapsed(const struct cc_explorer *x)
{
	return x->resumed_s + wall_s() - x->t0;
}
