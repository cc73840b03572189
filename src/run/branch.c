#include "branch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"

#include "../base/array.h"
#include "coverage.h"

/* --- paths -----------------------------------------------------------------
 */

int cc_path_push(struct cc_path *p, const struct cc_fork *f)
{
	if (p->n >= CC_PATH_MAX_FORKS ||
	    cc_array_grow(&p->fork, &p->cap, p->n, sizeof(*p->fork), 8))
		return -1;
	p->fork[p->n++] = *f;
	return 0;
}

int cc_path_copy(struct cc_path *dst, const struct cc_path *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t k = 0; k < src->n; k++)
		if (cc_path_push(dst, &src->fork[k])) {
			cc_path_free(dst);
			return -1;
		}
	return 0;
}

void cc_path_free(struct cc_path *p)
{
	free(p->fork);
	memset(p, 0, sizeof(*p));
}

int cc_fork_apply(struct cc_sim *s, const struct cc_fork *f, struct cc_err *err)
{
	if (s->tick != f->at)
		return cc_err_set(err, "a fork at tick %llu applied at %llu",
				  (unsigned long long)f->at,
				  (unsigned long long)s->tick);
	if (f->nfaults > CC_FORK_MAX_FAULTS)
		return cc_err_set(err, "a fork of %zu faults (at most %u)",
				  f->nfaults, CC_FORK_MAX_FAULTS);
	for (size_t k = 0; k < f->nfaults; k++)
		if (f->fault[k].at_ns < f->at * CC_NS_PER_TICK)
			return cc_err_set(err,
					  "a fork at tick %llu schedules a "
					  "fault before it",
					  (unsigned long long)f->at);
	if (f->nchoices > CC_FORK_MAX_CHOICES)
		return cc_err_set(err, "a fork of %zu choices (at most %u)",
				  f->nchoices, CC_FORK_MAX_CHOICES);
	for (size_t k = 0; k < f->nchoices; k++)
		if (f->choice[k].vm >= s->n ||
		    f->choice[k].offset >= CC_FORK_MAX_OFFSET)
			return cc_err_set(err,
					  "a fork's choice %zu: VM %u, offset "
					  "%u out of range",
					  k, f->choice[k].vm,
					  f->choice[k].offset);
	if (f->reseed)
		cc_sim_reseed(s, f->seed);
	for (size_t k = 0; k < f->nchoices; k++)
		if (cc_sim_override_choice(s, f->choice[k].vm,
					   f->choice[k].offset,
					   f->choice[k].value))
			return cc_err_set(err,
					  "VM %u has %u choice overrides "
					  "pending",
					  f->choice[k].vm,
					  CC_SIM_MAX_OVERRIDES);
	if (cc_engine_set_future(&s->engine, f->fault, f->nfaults))
		return cc_err_set(err, "cannot schedule the fork's faults");
	return 0;
}

int cc_path_replay(struct cc_sim *s, const struct cc_path *p, size_t upto,
		   struct cc_err *err)
{
	return cc_path_replay_from(s, p, 0, upto, err);
}

int cc_path_replay_from(struct cc_sim *s, const struct cc_path *p, size_t from,
			size_t upto, struct cc_err *err)
{
	for (size_t k = from; k < upto && k < p->n; k++) {
		const struct cc_fork *f = &p->fork[k];
		if (f->at < s->tick)
			return cc_err_set(err,
					  "fork %zu at tick %llu is behind "
					  "the cluster (tick %llu)",
					  k, (unsigned long long)f->at,
					  (unsigned long long)s->tick);
		while (s->tick < f->at && !cc_sim_done(s))
			if (cc_sim_step_round(s, err))
				return -1;
		if (s->tick != f->at)
			return cc_err_set(err,
					  "every VM stopped before fork %zu "
					  "(tick %llu)",
					  k, (unsigned long long)f->at);
		if (cc_fork_apply(s, f, err))
			return -1;
	}
	return 0;
}

/* --- bugs --------------------------------------------------------------------
 */

static const char *const bug_names[] = {
	[CC_BUG_ALWAYS] = "always",
	[CC_BUG_UNREACHABLE] = "unreachable",
	[CC_BUG_CRASH] = "crash",
	[CC_BUG_STALL] = "stall",
};

const char *cc_bug_kind_name(enum cc_bug_kind k)
{
	return (unsigned)k < sizeof(bug_names) / sizeof(bug_names[0])
		       ? bug_names[k]
		       : "?";
}

static void add_bug(struct cc_branch_result *r, enum cc_bug_kind kind,
		    const char *id, const char *what, unsigned vm,
		    uint64_t tick)
{
	for (size_t k = 0; k < r->nbugs; k++)
		if (r->bug[k].kind == kind && !strcmp(r->bug[k].id, id))
			return;
	if (r->nbugs >= CC_BRANCH_MAX_BUGS) {
		r->bugs_dropped++;
		return;
	}
	struct cc_bug_sig *b = &r->bug[r->nbugs++];
	b->kind = kind;
	snprintf(b->id, sizeof(b->id), "%s", id);
	snprintf(b->what, sizeof(b->what), "%s", what);
	b->vm = vm;
	b->tick = tick;
}

/* --- the run
 * ------------------------------------------------------------------ */

struct watch {
	struct cc_sim *s;
	struct cc_branch_result *r;
	void (*on_serial)(void *, unsigned, const char *, size_t);
	void *ctx;
	uint64_t activity[CC_SIM_MAX_VMS]; /* what the VM did, summed */
	uint64_t since[CC_SIM_MAX_VMS];	   /* tick it last changed */
};

bool cc_bug_console(const char *line, size_t len, char *id, size_t id_len,
		    char *what, size_t what_len)
{
	char text[200];
	snprintf(text, sizeof(text), "%.*s", (int)len, line);
	const char *sig = strstr(text, "cc-init: killed by signal ");
	const char *panic = strstr(text, "Kernel panic - not syncing: ");
	if (sig)
		snprintf(id, id_len, "signal %d",
			 atoi(sig + strlen("cc-init: killed by signal ")));
	else if (panic)
		snprintf(id, id_len, "panic: %.60s",
			 panic + strlen("Kernel panic - not syncing: "));
	else
		return false;
	snprintf(what, what_len, "%s", text);
	return true;
}

static void crash_line(struct watch *w, unsigned vm, const char *line,
		       size_t len)
{
	char id[160], what[240];
	if (cc_bug_console(line, len, id, sizeof(id), what, sizeof(what)))
		add_bug(w->r, CC_BUG_CRASH, id, what, vm, w->s->tick);
}

static void watch_serial(void *ctx, unsigned vm, const char *line, size_t len)
{
	struct watch *w = ctx;
	struct cc_branch_result *r = w->r;
	if (vm < CC_SIM_MAX_VMS) {
		unsigned k = r->ntail[vm]++ % CC_BRANCH_TAIL;
		snprintf(r->tail[vm][k], sizeof(r->tail[vm][k]), "%.*s",
			 (int)len, line);
		crash_line(w, vm, line, len);
	}
	if (w->on_serial)
		w->on_serial(w->ctx, vm, line, len);
}

static uint64_t activity(const struct cc_vm_slot *v)
{
	return v->vm->hc.calls + v->frames_sent + v->vm->stats.serial_bytes;
}

/* After each round: VMs stopped by a fault of their own, and running
 * VMs that did nothing for stall_ticks. */
static void watch_round(struct watch *w, const struct cc_branch_opts *o)
{
	struct cc_sim *s = w->s;
	for (unsigned i = 0; i < s->n; i++) {
		const struct cc_vm_slot *v = &s->slot[i];
		if (v->status == CC_VM_HALTED &&
		    (v->res.stop == CC_STOP_SHUTDOWN ||
		     v->res.stop == CC_STOP_ERROR)) {
			char id[160];
			snprintf(id, sizeof(id), "vm stop: %s",
				 cc_stop_name(v->res.stop));
			add_bug(w->r, CC_BUG_CRASH, id, v->res.msg, i, s->tick);
		}
		uint64_t a = activity(v);
		bool running = v->status == CC_VM_RUNNING ||
			       v->status == CC_VM_RESUMING;
		if (a != w->activity[i] || !running) {
			w->activity[i] = a;
			w->since[i] = s->tick;
		} else if (o->stall_ticks &&
			   s->tick - w->since[i] >= o->stall_ticks) {
			char what[240];
			snprintf(what, sizeof(what),
				 "VM %u made no SDK call, sent no frame and "
				 "wrote no console output for %llu ticks",
				 i, (unsigned long long)o->stall_ticks);
			add_bug(w->r, CC_BUG_STALL, "no progress", what, i,
				s->tick);
			w->since[i] = s->tick; /* once per stretch */
		}
	}
}

static uint64_t watchdog_total(const struct cc_sim *s)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < s->n; i++)
		n += s->slot[i].vm->stats.watchdog_fires;
	return n;
}

/* The branch's coverage: every VM's counters as bucket bits, OR-ed. */
static void read_coverage(struct cc_sim *s, uint8_t *cov)
{
	static _Thread_local uint8_t map[CC_COVERAGE_SIZE];
	memset(cov, 0, CC_COVERAGE_SIZE);
	for (unsigned i = 0; i < s->n; i++) {
		if (!cc_coverage_read(&s->slot[i].vm->mem, map))
			continue;
		for (size_t k = 0; k < CC_COVERAGE_SIZE; k++)
			cov[k] |= cc_coverage_bucket(map[k]);
	}
}

static void property_bugs(struct cc_branch_result *r, uint64_t tick)
{
	for (size_t k = 0; k < r->oracle.n; k++) {
		const struct cc_property *p = &r->oracle.p[k];
		enum cc_verdict v = cc_oracle_verdict(p);
		if (v == CC_VERDICT_ALWAYS_VIOLATED)
			add_bug(r, CC_BUG_ALWAYS, p->id, p->message, 0, tick);
		else if (v == CC_VERDICT_UNREACHABLE_REACHED)
			add_bug(r, CC_BUG_UNREACHABLE, p->id, p->message, 0,
				tick);
	}
}

int cc_branch_run(struct cc_sim *s, const struct cc_branch_opts *o,
		  struct cc_branch_result *r, struct cc_err *err)
{
	uint8_t *cov = r->cov;
	memset(r, 0, sizeof(*r));
	r->cov = cov;
	r->start = s->tick;
	struct watch w = {s, r, s->cfg.on_serial, s->cfg.ctx, {0}, {0}};
	for (unsigned i = 0; i < s->n; i++) {
		w.activity[i] = activity(&s->slot[i]);
		w.since[i] = s->tick;
		cc_coverage_clear(&s->slot[i].vm->mem);
	}
	cc_sim_forget_records(s);
	uint64_t wd = watchdog_total(s);
	struct cc_net_stats net0 = s->fabric.stats;
	s->cfg.on_serial = watch_serial;
	s->cfg.ctx = &w;
	int rc = 0;
	while (s->tick < o->until && !cc_sim_done(s)) {
		if ((rc = cc_sim_step_round(s, err)))
			break;
		watch_round(&w, o);
		if (o->stop_at_bug && r->nbugs)
			break;
		/* A branch the watchdog preempted is not reproducible and
		 * will be thrown away: no use running the rest (a guest
		 * spinning without exits costs 5 s of wall time per kick). */
		if (watchdog_total(s) != wd)
			break;
	}
	s->cfg.on_serial = w.on_serial;
	s->cfg.ctx = w.ctx;
	if (rc)
		return -1;
	r->ticks = s->tick;
	r->trace_hash = cc_sim_trace_hash(s);
	r->watchdog_fires = watchdog_total(s) - wd;
	cc_net_stats_add(&r->net, &s->fabric.stats, &net0);
	r->nvms = s->n;
	for (unsigned i = 0; i < s->n; i++)
		r->status[i] = (uint8_t)s->slot[i].status;
	if (r->cov)
		read_coverage(s, r->cov);
	cc_sim_fold_oracle(s, &r->oracle);
	property_bugs(r, s->tick);
	return 0;
}

void cc_branch_result_free(struct cc_branch_result *r)
{
	cc_oracle_free(&r->oracle);
	memset(&r->oracle, 0, sizeof(r->oracle));
}

void cc_sim_fold_oracle(const struct cc_sim *s, struct cc_oracle *o)
{
	/* The cluster is one run: every VM's records, VM by VM. */
	const char **all = NULL;
	size_t n = 0;
	for (unsigned i = 0; i < s->n; i++) {
		size_t k;
		const char **r = cc_sim_records(s, i, &k);
		const char **grown = realloc(all, (n + k + 1) * sizeof(*all));
		if (!r || !grown) {
			free(r);
			break;
		}
		all = grown;
		memcpy(all + n, r, k * sizeof(*r));
		n += k;
		free(r);
	}
	cc_oracle_add_run(o, all, n);
	free(all);
}
