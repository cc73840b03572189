#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"

#include "../fault/engine.h"
#include "explorer.h"

/* --- the root ------------------------------------------------------------ */

int cc_worker_root(struct cc_explore_worker *w, uint64_t end, uint64_t *tick,
		   uint64_t *hash, struct cc_err *err)
{
	struct cc_sim *s = w->s;
	while (!cc_engine_gate_open(&s->engine)) {
		if (s->tick >= end || cc_sim_done(s))
			return cc_err_set(err,
					  "the scenario's gate never opened "
					  "(no setup_complete by tick %llu)",
					  (unsigned long long)s->tick);
		if (cc_sim_step_round(s, err))
			return -1;
	}
	if (s->tick >= end)
		return cc_err_set(err,
				  "the gate opened at tick %llu, at the "
				  "scenario's end",
				  (unsigned long long)s->tick);
	*tick = s->tick;
	*hash = cc_sim_trace_hash(s);
	return cc_sim_snapshot(s, &w->root, err);
}

/* --- where a branch starts ------------------------------------------------ */

/* Does worker `id` hold entry e's snapshot (everyone holds the root's). */
static bool holds(const struct cc_entry *e, unsigned id)
{
	return !e->id || (e->snap && e->owner == id);
}

/* The nearest ancestor of e whose snapshot worker `id` holds (the root
 * at worst): an entry's path is its parent's and one fork more. */
static const struct cc_entry *held_ancestor(const struct cc_explorer *x,
					    const struct cc_entry *e,
					    unsigned id)
{
	while (!holds(e, id))
		e = &x->e[e->parent];
	return e;
}

static struct cc_sim_snapshot *snap_of(const struct cc_explore_worker *w,
				       const struct cc_entry *e)
{
	return e->id ? e->snap : w->root;
}

/* Entry e's state rebuilt on w from its nearest held ancestor along its
 * path: *same when it came back with the trace hash it had. */
static int rebuild(struct cc_explore_worker *w, const struct cc_explorer *x,
		   const struct cc_entry *e, struct cc_outcome *o, bool *same)
{
	const struct cc_entry *a = held_ancestor(x, e, w->id);
	o->rebuilds++;
	if (cc_sim_restore(w->s, snap_of(w, a), &o->err) ||
	    cc_path_replay_from(w->s, &e->path, a->path.n, e->path.n, &o->err))
		return -1;
	while (w->s->tick < e->tick && !cc_sim_done(w->s))
		if (cc_sim_step_round(w->s, &o->err))
			return -1;
	*same = cc_sim_trace_hash(w->s) == e->hash;
	return 0;
}

/*
 * The cluster at entry e's state: its snapshot, or rebuilt from the
 * nearest held ancestor (the path names the state, so the hash must
 * come back; a rebuild that does not is a determinism failure of the
 * platform or ours: counted, tried again, and *entered false if it
 * never does, which retires the entry).
 */
static int enter(struct cc_explore_worker *w, const struct cc_explorer *x,
		 const struct cc_entry *e, struct cc_outcome *o, bool *entered)
{
	double t = cc_explore_wall_s();
	int rc = 0;
	o->restores++;
	*entered = true;
	if (holds(e, w->id)) {
		rc = cc_sim_restore(w->s, snap_of(w, e), &o->err);
		o->restore_s += cc_explore_wall_s() - t;
		return rc;
	}
	for (int tries = 0; tries < 3; tries++) {
		if ((rc = rebuild(w, x, e, o, entered)) || *entered)
			break;
		o->divergences++;
		fprintf(stderr,
			"explore: entry %llu rebuilt from an ancestor ended "
			"with trace hash %016llx, not %016llx (try %d of 3)\n",
			(unsigned long long)e->id,
			(unsigned long long)cc_sim_trace_hash(w->s),
			(unsigned long long)e->hash, tries + 1);
	}
	o->restore_s += cc_explore_wall_s() - t;
	return rc;
}

/* --- one branch ------------------------------------------------------------
 */

bool cc_goal_met(const struct cc_property *p)
{
	return p->assert_type &&
	       ((!strcmp(p->assert_type, "sometimes") && p->passes) ||
		(!strcmp(p->assert_type, "reachability") && p->must_hit &&
		 p->hits));
}

void cc_branch_combos(const struct cc_plan *p, const struct cc_branch_result *r,
		      struct cc_combos *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t k = 0; k < p->fork.nfaults; k++) {
		const struct cc_fault *f = &p->fork.fault[k];
		if (f->at_ns >= r->ticks * CC_NS_PER_TICK)
			continue; /* not dispatched: the branch ended first */
		for (unsigned i = 0; i < r->nvms; i++)
			if (!cc_fault_has_vm(f->kind) || f->vm == i)
				c->bits[f->kind] |=
					(uint8_t)(1u << r->status[i]);
	}
}

unsigned cc_combos_new(const struct cc_combos *c, const struct cc_combos *seen)
{
	unsigned n = 0;
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		n += (unsigned)__builtin_popcount(c->bits[k] & ~seen->bits[k]);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Could the merge make the branch an entry: it ran clean to its horizon
 * and shows something the corpus did not have when the round began (the
 * merge's corpus holds at least that, so it can only find less new). */
static bool may_be_new(const struct cc_explorer *x, const struct cc_plan *p,
		       const struct cc_branch_result *r)
{
	if (x->cfg.random || r->nbugs || r->watchdog_fires ||
	    r->ticks != p->until || p->until >= x->cfg.ticks)
		return false;
	for (size_t k = 0; k < CC_COVERAGE_SIZE; k++)
		if (r->cov[k] & ~x->cov.seen[k])
			return true;
	if (x->cfg.combos) {
		struct cc_combos c;
		cc_branch_combos(p, r, &c);
		if (cc_combos_new(&c, &x->combos))
			return true;
	}
	for (size_t k = 0; k < r->oracle.n; k++) {
		const char *id = r->oracle.p[k].id;
		if (cc_goal_met(&r->oracle.p[k]) && id &&
		    !bsearch(&id, x->goals, x->ngoals, sizeof(char *), cmp_str))
			return true;
	}
	return false;
}

/* The branch once, from its entry's state, into r (r->cov set).  1 when
 * the entry's state never came back (retired). */
static int run_branch(struct cc_explore_worker *w, const struct cc_explorer *x,
		      const struct cc_plan *p, struct cc_outcome *o,
		      struct cc_branch_result *r)
{
	struct cc_branch_opts bo = {p->until, x->cfg.stall_ticks, true};
	bool entered;
	if (enter(w, x, &x->e[p->entry], o, &entered))
		return -1;
	if (!entered)
		return 1;
	double t = cc_explore_wall_s();
	int rc = cc_fork_apply(w->s, &p->fork, &o->err) ||
		 cc_branch_run(w->s, &bo, r, &o->err);
	o->run_s += cc_explore_wall_s() - t;
	return rc ? -1 : 0;
}

void cc_outcome_take(struct cc_outcome *o, struct cc_branch_result *r)
{
	uint8_t *cov = o->res.cov;
	cc_branch_result_free(&o->res);
	memcpy(cov, r->cov, CC_COVERAGE_SIZE);
	free(r->cov);
	o->res = *r;
	o->res.cov = cov;
	memset(r, 0, sizeof(*r));
}

static void drop_result(struct cc_branch_result *r)
{
	free(r->cov);
	cc_branch_result_free(r);
	memset(r, 0, sizeof(*r));
}

/*
 * A branch that shows a bug new as the round began runs once more from
 * the same state: a real bug comes back with the same trace hash.  On
 * nested TCG the platform now and then stops a vCPU with a shutdown no
 * guest asked for (docs/DETERMINISM.md): that run's hash is an outlier,
 * so a third run decides, and the two that agree are the outcome (the
 * cluster is left at the last run's end, which is one of them).  Three
 * different hashes make the branch unstable: it counts for nothing.
 * Every outcome but the platform's faults is the clean campaign's.
 */
static int confirm(struct cc_explore_worker *w, const struct cc_explorer *x,
		   const struct cc_plan *p, struct cc_outcome *o)
{
	struct cc_branch_result alt[2] = {0};
	int rc = 0;
	for (int k = 0; k < 2 && !rc; k++) {
		alt[k].cov = malloc(CC_COVERAGE_SIZE);
		if (!alt[k].cov)
			return cc_err_set(&o->err, "out of memory");
		if ((rc = run_branch(w, x, p, o, &alt[k])))
			break;
		uint64_t h = alt[k].trace_hash;
		if (h == o->res.trace_hash) /* the first run stands */
			break;
		o->outvoted++;
		fprintf(stderr,
			"explore: a branch from entry %llu ran again with "
			"trace hash %016llx, not %016llx%s\n",
			(unsigned long long)x->e[p->entry].id,
			(unsigned long long)h,
			(unsigned long long)o->res.trace_hash,
			k ? "" : ": a third run decides");
		if (k && h == alt[0].trace_hash) { /* the first was wrong */
			cc_outcome_take(o, &alt[1]);
			break;
		}
		if (k)
			o->unstable = true;
	}
	drop_result(&alt[0]);
	drop_result(&alt[1]);
	if (rc > 0) { /* its state did not come back */
		o->retired = true;
		rc = 0;
	}
	return rc;
}

/* A watchdog firing is the host's doing (a preempted guest, or, on
 * nested TCG, the platform stalling): the branch runs again from its
 * state, and only one that fires every time is given up. */
static int run_one(struct cc_explore_worker *w, const struct cc_explorer *x,
		   const struct cc_plan *p, struct cc_outcome *o)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = run_branch(w, x, p, o, &o->res);
		if (rc < 0)
			return -1;
		if (rc) {
			o->retired = true;
			return 0;
		}
		if (!o->res.watchdog_fires)
			break;
		o->watchdog_retries++;
		if (attempt < 2)
			cc_branch_result_free(&o->res);
	}
	if (!o->res.watchdog_fires && cc_explore_has_new_bug(x, &o->res) &&
	    confirm(w, x, p, o))
		return -1;
	w->done++;
	if (!o->retired && !o->unstable && may_be_new(x, p, &o->res))
		return cc_sim_snapshot(w->s, &o->snap, &o->err);
	return 0;
}

/* --- a round ----------------------------------------------------------------
 */

/* What placing entry e on worker `id` costs: one branch, and one per
 * fork it re-runs from the nearest ancestor that worker holds. */
static uint64_t cost(const struct cc_explorer *x, const struct cc_entry *e,
		     unsigned id)
{
	return 1 + e->path.n - held_ancestor(x, e, id)->path.n;
}

void cc_workers_assign(const struct cc_explorer *x, struct cc_plan *p,
		       unsigned n)
{
	uint64_t load[CC_EXPLORE_MAX_WORKERS] = {0};
	for (unsigned k = 0; k < n; k++) {
		const struct cc_entry *e = &x->e[p[k].entry];
		unsigned best = 0;
		uint64_t best_end = UINT64_MAX;
		for (unsigned id = 0; id < x->nworkers; id++) {
			uint64_t end = load[id] + cost(x, e, id);
			if (end < best_end) {
				best = id;
				best_end = end;
			}
		}
		p[k].worker = best;
		load[best] = best_end;
	}
}

struct job {
	struct cc_explore_worker *w;
	const struct cc_explorer *x;
	const struct cc_plan *p;
	struct cc_outcome *o;
	unsigned n;
};

/* A worker's share of the round, in plan order; a failed branch stops
 * the worker (the merge reports the first failure in plan order). */
static void *work(void *arg)
{
	struct job *j = arg;
	for (unsigned k = 0; k < j->n; k++) {
		if (j->p[k].worker != j->w->id)
			continue;
		uint8_t *cov = j->o[k].res.cov;
		memset(&j->o[k], 0, sizeof(j->o[k]));
		j->o[k].res.cov = cov;
		if (run_one(j->w, j->x, &j->p[k], &j->o[k])) {
			j->o[k].rc = -1;
			break;
		}
	}
	return NULL;
}

int cc_workers_round(struct cc_explorer *x, const struct cc_plan *p,
		     struct cc_outcome *o, unsigned n, struct cc_err *err)
{
	struct job job[CC_EXPLORE_MAX_WORKERS];
	pthread_t thread[CC_EXPLORE_MAX_WORKERS];
	unsigned started = 1, id;
	int rc = 0;
	for (id = 0; id < x->nworkers; id++)
		job[id] = (struct job){&x->w[id], x, p, o, n};
	/* Plans no worker reached (one stopped early) say so. */
	for (unsigned k = 0; k < n; k++)
		o[k].rc = 1;
	for (id = 1; id < x->nworkers; id++, started++)
		if (pthread_create(&thread[id], NULL, work, &job[id])) {
			rc = cc_err_set(err, "cannot start explore worker %u",
					id);
			break;
		}
	work(&job[0]);
	for (id = 1; id < started; id++)
		pthread_join(thread[id], NULL);
	return rc;
}
