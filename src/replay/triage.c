#include "triage.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../run/coverage.h"

/* --- items ---------------------------------------------------------------
 */

long cc_triage_items(const struct cc_path *p, struct cc_triage_item *it,
		     size_t cap)
{
	size_t n = 0;
	for (int kind = CC_TRIAGE_FAULT; kind <= CC_TRIAGE_CHOICE; kind++)
		for (size_t k = 0; k < p->n; k++) {
			const struct cc_fork *f = &p->fork[k];
			size_t m = kind == CC_TRIAGE_FAULT ? f->nfaults
							   : f->nchoices;
			for (size_t j = 0; j < m; j++) {
				if (n >= cap)
					return -1;
				it[n++] = (struct cc_triage_item){
					(uint32_t)k, (uint32_t)j, kind};
			}
		}
	return (long)n;
}

int cc_triage_subpath(const struct cc_path *p, const struct cc_triage_item *it,
		      size_t n, const bool *keep, struct cc_path *out)
{
	if (cc_path_copy(out, p))
		return -1;
	for (size_t k = 0; k < out->n; k++)
		out->fork[k].nfaults = out->fork[k].nchoices = 0;
	for (size_t k = 0; k < n; k++) {
		if (!keep[k])
			continue;
		const struct cc_fork *src = &p->fork[it[k].fork];
		struct cc_fork *dst = &out->fork[it[k].fork];
		if (it[k].kind == CC_TRIAGE_FAULT)
			dst->fault[dst->nfaults++] = src->fault[it[k].index];
		else
			dst->choice[dst->nchoices++] = src->choice[it[k].index];
	}
	return 0;
}

/* --- candidate runs --------------------------------------------------------
 */

#define WATCHDOG_TRIES 3 /* as the explorer: a firing is the host's doing */

struct runner {
	struct cc_sim *s;
	const struct cc_repro *r;
	const struct cc_triage_opts *o;
	struct cc_sim_snapshot *at_fork;
	const struct cc_path *base; /* the items' source */
	const struct cc_triage_item *it;
	size_t n;
	uint64_t runs, watchdog;
	struct cc_branch_result res;
	uint8_t *cov;
	/* The last run's end. */
	uint64_t hash, ticks;
	bool any_bug;
	struct cc_bug_sig bug; /* its bug, or its first one */
};

static void say(const struct runner *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct runner *u, const char *fmt, ...)
{
	if (!u->o->progress)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	u->o->progress(u->o->ctx, line);
}

static void count_items(const struct cc_path *p, size_t *faults,
			size_t *choices)
{
	*faults = *choices = 0;
	for (size_t k = 0; k < p->n; k++) {
		*faults += p->fork[k].nfaults;
		*choices += p->fork[k].nchoices;
	}
}

/* The reproducer's opening, as `run --reproduce` makes it: the
 * explorer's faults only. */
static int clear_future(struct cc_sim *s, struct cc_err *err)
{
	s->engine.cfg.rate_ppm = 0;
	if (cc_engine_set_future(&s->engine, NULL, 0))
		return cc_err_set(err, "out of memory");
	return 0;
}

/* p run from the cluster as it is (at or before p's first fork) to the
 * reproducer's end: 1 when it ends in the bug, 0 when not, -1. */
static int run_path(struct runner *u, const struct cc_path *p,
		    struct cc_err *err)
{
	const struct cc_repro *r = u->r;
	struct cc_branch_opts bo = {r->until, r->stall_ticks, true};
	u->runs++;
	if (cc_path_replay(u->s, p, p->n, err))
		return -1;
	memset(&u->res, 0, sizeof(u->res));
	u->res.cov = u->cov;
	if (cc_branch_run(u->s, &bo, &u->res, err))
		return -1;
	u->hash = u->res.trace_hash;
	u->ticks = u->res.ticks;
	int same = 0;
	for (size_t k = 0; k < u->res.nbugs && !same; k++)
		if (u->res.bug[k].kind == r->bug.kind &&
		    !strcmp(u->res.bug[k].id, r->bug.id)) {
			u->bug = u->res.bug[k];
			same = 1;
		}
	u->any_bug = u->res.nbugs > 0;
	if (!same && u->any_bug)
		u->bug = u->res.bug[0];
	int fired = u->res.watchdog_fires > 0;
	cc_branch_result_free(&u->res);
	return fired ? 2 : same;
}

/* p from the snapshot at the first fork; a run the watchdog cut is run
 * again, and counts as "no bug" if it is cut every time. */
static int candidate(struct runner *u, const struct cc_path *p,
		     struct cc_err *err)
{
	for (int t = 0; t < WATCHDOG_TRIES; t++) {
		if (cc_sim_restore(u->s, u->at_fork, err) ||
		    clear_future(u->s, err))
			return -1;
		int r = run_path(u, p, err);
		if (r != 2)
			return r;
		u->watchdog++;
	}
	say(u,
	    "triage: the watchdog cut this run %d times: taken as no "
	    "bug",
	    WATCHDOG_TRIES);
	return 0;
}

static int ddmin_test(void *ctx, const bool *keep, size_t n, struct cc_err *err)
{
	struct runner *u = ctx;
	struct cc_path p;
	if (cc_triage_subpath(u->base, u->it, n, keep, &p))
		return cc_err_set(err, "out of memory");
	size_t f, c;
	count_items(&p, &f, &c);
	int r = candidate(u, &p, err);
	cc_path_free(&p);
	if (r >= 0)
		say(u, "triage: run %llu: %zu faults, %zu choices: %s",
		    (unsigned long long)u->runs, f, c,
		    r ? "the bug" : "no bug");
	return r;
}

/* --- the timeline ------------------------------------------------------------
 */

struct timeline {
	struct cc_triage_result *res;
	const struct cc_triage_opts *o;
	char seen[CC_TRIAGE_MAX_TIMELINE][161]; /* properties hit */
	size_t nseen;
	const struct cc_bug_sig *want;
	bool bug_seen;
	uint64_t bug_tick; /* the round the observer saw it in */
};

static bool first_hit(struct timeline *t, const char *prop, bool cond)
{
	char key[161];
	snprintf(key, sizeof(key), "%c%s", cond ? '+' : '-', prop);
	for (size_t k = 0; k < t->nseen; k++)
		if (!strcmp(t->seen[k], key))
			return false;
	if (t->nseen < CC_TRIAGE_MAX_TIMELINE)
		memcpy(t->seen[t->nseen++], key, sizeof(key));
	return true;
}

/* A short text for people: the fault, the status, the property. */
static bool summary(struct timeline *t, const struct cc_obs_event *e, char *out,
		    size_t len)
{
	json_t *j = json_loadb(e->text, e->len, 0, NULL);
	if (!j)
		return false;
	bool keep = true;
	const char *s;
	if (e->type == CC_EV_FAULT) {
		char *f = json_dumps(json_object_get(j, "fault"), JSON_COMPACT);
		snprintf(out, len, "%s", f ? f : "?");
		free(f);
	} else if (e->type == CC_EV_STATUS) {
		s = json_string_value(json_object_get(j, "stop"));
		snprintf(out, len, "%s%s%s",
			 json_string_value(json_object_get(j, "status")),
			 s ? ": " : "", s ? s : "");
	} else if (e->type == CC_EV_ASSERT) {
		s = json_string_value(json_object_get(j, "property"));
		bool cond = json_is_true(json_object_get(j, "condition"));
		json_t *a = json_object_get(json_object_get(j, "record"),
					    "antithesis_assert");
		const char *msg =
			json_string_value(json_object_get(a, "message"));
		const char *type =
			json_string_value(json_object_get(a, "assert_type"));
		/* An always that holds says little; a goal's first hit and
		 * every failure do. */
		bool always = type && !strcmp(type, "always");
		keep = (!always || !cond) && first_hit(t, s ? s : "", cond);
		snprintf(out, len, "%s %s \"%s\"%s", type ? type : "?",
			 cond ? "holds" : "FAILS",
			 msg ? msg
			 : s ? s
			     : "",
			 cond ? " (first hit)" : "");
	} else if (e->type == CC_EV_BUG) {
		s = json_string_value(json_object_get(j, "id"));
		if (s && !t->bug_seen && !strcmp(s, t->want->id)) {
			t->bug_seen = true;
			t->bug_tick = e->tick;
		}
		snprintf(out, len, "%s: %s",
			 json_string_value(json_object_get(j, "kind")),
			 json_string_value(json_object_get(j, "what")));
	} else {
		keep = false;
	}
	json_decref(j);
	return keep;
}

static void on_event(void *ctx, const struct cc_obs_event *e)
{
	struct timeline *t = ctx;
	if (t->o->on_event)
		t->o->on_event(t->o->event_ctx, e);
	char text[240];
	if (!summary(t, e, text, sizeof(text)))
		return;
	struct cc_triage_result *res = t->res;
	if (res->ntimeline >= CC_TRIAGE_MAX_TIMELINE) {
		res->timeline_dropped++;
		return;
	}
	struct cc_triage_event *te = &res->timeline[res->ntimeline++];
	*te = (struct cc_triage_event){e->tick, e->vm, e->type, e->failed, ""};
	snprintf(te->text, sizeof(te->text), "%s", text);
}

/* The minimal path on a cluster opened just for it, observed: the
 * hash must be the candidate's (a run from the snapshot). */
static int observed_run(struct runner *u, struct cc_triage_result *res,
			struct cc_err *err)
{
	uint64_t want = res->trace_hash;
	static struct timeline t;
	static struct cc_observer ob;
	t = (struct timeline){.res = res, .o = u->o, .want = &u->r->bug};
	res->ntimeline = 0;
	if (clear_future(u->s, err))
		return -1;
	if (cc_observer_attach(&ob, u->s, u->o->checkpoint_every, on_event, &t,
			       err))
		return -1;
	int r = run_path(u, &res->minimal, err);
	if (r >= 0 && ob.failed) {
		*err = ob.err;
		r = -1;
	}
	if (r >= 0 && cc_observer_checkpoint(&ob, err))
		r = -1;
	cc_observer_detach(&ob);
	if (r < 0)
		return -1;
	if (r != 1 || u->hash != want)
		return cc_err_set(err,
				  "the minimal path run from the start ended "
				  "%s with trace hash %016llx, from the "
				  "snapshot at its first fork %016llx",
				  r == 1 ? "in the bug" : "without the bug",
				  (unsigned long long)u->hash,
				  (unsigned long long)want);
	res->ticks = u->ticks;
	res->bug = u->bug;
	if (t.bug_seen) /* the branch notes it when it reads the records */
		res->bug.tick = t.bug_tick;
	return 0;
}

int cc_triage_observe(struct cc_sim *s, const struct cc_repro *r,
		      const struct cc_triage_opts *o,
		      struct cc_triage_result *res, struct cc_err *err)
{
	static struct runner u;
	u = (struct runner){.s = s, .r = r, .o = o};
	if (!(u.cov = malloc(CC_COVERAGE_SIZE)))
		return cc_err_set(err, "out of memory");
	int rc = observed_run(&u, res, err);
	free(u.cov);
	return rc;
}

/* --- the shrink
 * ---------------------------------------------------------------
 */

/* Each choice left tried with the answer 0: kept when the bug stays. */
static int zero_choices(struct runner *u, struct cc_triage_result *res,
			struct cc_err *err)
{
	for (size_t k = 0; k < res->minimal.n; k++)
		for (size_t j = 0; j < res->minimal.fork[k].nchoices; j++) {
			struct cc_fork_choice *c =
				&res->minimal.fork[k].choice[j];
			if (!c->value)
				continue;
			uint64_t was = c->value;
			c->value = 0;
			int r = candidate(u, &res->minimal, err);
			if (r < 0)
				return -1;
			say(u,
			    "triage: run %llu: VM %u's choice %u answered 0: "
			    "%s",
			    (unsigned long long)u->runs, c->vm, c->offset,
			    r ? "the bug" : "no bug");
			if (r)
				res->zeroed++;
			else
				c->value = was;
		}
	return 0;
}

static int shrink(struct runner *u, struct cc_triage_result *res,
		  struct cc_err *err)
{
	say(u,
	    "triage: shrinking %zu faults and %zu choices (the first run "
	    "is the reproducer's own path)",
	    res->faults_before, res->choices_before);
	bool *keep = calloc(u->n + 1, 1);
	if (!keep)
		return cc_err_set(err, "out of memory");
	int rc = cc_ddmin(u->n, ddmin_test, u, u->o->max_runs, keep, &res->st,
			  err);
	if (!rc && cc_triage_subpath(u->base, u->it, u->n, keep, &res->minimal))
		rc = cc_err_set(err, "out of memory");
	free(keep);
	if (rc == 1) {
		cc_err_set(err,
			   "its own path ended at tick %llu without the "
			   "bug (%s)",
			   (unsigned long long)u->ticks,
			   u->any_bug ? u->bug.what : "no bug at all");
		return 1;
	}
	if (rc)
		return -1;
	if (zero_choices(u, res, err))
		return -1;
	/* Its run again: the hash to check the run from the start against
	 * (and a first check that it is the same each time). */
	if ((rc = candidate(u, &res->minimal, err)) != 1)
		return rc < 0 ? -1
			      : cc_err_set(err, "the minimal path did not "
						"fail when run again");
	count_items(&res->minimal, &res->faults_after, &res->choices_after);
	res->trace_hash = u->hash; /* its last candidate run's */
	res->ticks = u->ticks;
	res->bug = u->bug;
	return 0;
}

int cc_triage_shrink(struct cc_sim *s, const struct cc_repro *r,
		     const struct cc_triage_opts *o,
		     struct cc_triage_result *res, struct cc_err *err)
{
	memset(res, 0, sizeof(*res));
	if (!r->has_bug)
		return cc_err_set(err, "the reproducer names no bug");
	if (!r->path.n)
		return cc_err_set(err, "the reproducer has no forks");
	static struct cc_triage_item it[CC_DDMIN_MAX_ITEMS];
	long n = cc_triage_items(&r->path, it, CC_DDMIN_MAX_ITEMS);
	if (n < 0)
		return cc_err_set(err, "more than %u faults and choices",
				  CC_DDMIN_MAX_ITEMS);
	static struct runner u;
	u = (struct runner){.s = s,
			    .r = r,
			    .o = o,
			    .base = &r->path,
			    .it = it,
			    .n = (size_t)n};
	count_items(&r->path, &res->faults_before, &res->choices_before);
	u.cov = malloc(CC_COVERAGE_SIZE);
	int rc = u.cov ? 0 : cc_err_set(err, "out of memory");
	/* The first fork: all before it is the same for every candidate. */
	if (!rc)
		rc = clear_future(s, err);
	while (!rc && s->tick < r->path.fork[0].at && !cc_sim_done(s))
		rc = cc_sim_step_round(s, err);
	if (!rc && s->tick != r->path.fork[0].at)
		rc = cc_err_set(err, "every VM stopped before the first fork");
	if (!rc)
		rc = cc_sim_snapshot(s, &u.at_fork, err);
	if (!rc)
		rc = shrink(&u, res, err);
	res->runs = u.runs;
	cc_sim_snapshot_free(u.at_fork);
	free(u.cov);
	if (rc)
		cc_path_free(&res->minimal);
	return rc;
}

void cc_triage_result_free(struct cc_triage_result *res)
{
	cc_path_free(&res->minimal);
}
