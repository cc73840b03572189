/*
 * Triage of one bug: the smallest schedule that still breaks the same
 * property, and what happened on the way to it.
 *
 * A bug's reproducer (run/reproducer.h) is a path: forks, each with the
 * faults it schedules and the random_choice answers it forces.  Those
 * faults and choices are the *items*; ddmin (replay/ddmin.h) removes
 * them, each candidate run on the cluster from a snapshot taken at the
 * first fork (the part before it is the same for every candidate: the
 * forks stay, with their ticks and reseeds, and only lose items), and a
 * candidate "fails" when the run ends with a bug of the same kind and
 * id.  The choices left are then tried with the answer 0 (the first
 * option), one at a time, and the result runs once more for its hash.
 * Last, cc_triage_observe runs the minimal path on a cluster opened
 * just for it (as a fresh `run --reproduce` would) with an observer
 * (replay/observer.h): its trace hash must be the candidate run's, its
 * events make the bug's timeline, and a caller may record them.  Not on
 * the candidates' cluster: the recording is then exactly what `run
 * --reproduce minimal.json --record` writes in a fresh process, owing
 * nothing to the many restores before it.
 */
#ifndef CC_REPLAY_TRIAGE_H
#define CC_REPLAY_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../run/branch.h"
#include "../run/reproducer.h"
#include "../sim/controller.h"
#include "ddmin.h"
#include "observer.h"

enum cc_triage_item_kind { CC_TRIAGE_FAULT, CC_TRIAGE_CHOICE };

struct cc_triage_item {
	uint32_t fork, index; /* index in the fork's fault[] or choice[] */
	enum cc_triage_item_kind kind;
};

/* The path's faults, then choices, fork by fork, into it[] (at most
 * cap): their number, or -1 when there are more than cap. */
long cc_triage_items(const struct cc_path *p, struct cc_triage_item *it,
		     size_t cap);
/* p with only the items keep[] marks (every fork stays).  -1 when out
 * of memory. */
int cc_triage_subpath(const struct cc_path *p, const struct cc_triage_item *it,
		      size_t n, const bool *keep, struct cc_path *out);

#define CC_TRIAGE_MAX_TIMELINE 256u

/* One line of a bug's timeline: a fault, a status change, a goal's
 * (sometimes, reachable) first hit, an assertion's first failure, the
 * bug. */
struct cc_triage_event {
	uint64_t tick;
	int vm;
	enum cc_event_type type;
	bool failed;
	char text[240]; /* the observer's line, cut */
};

struct cc_triage_opts {
	uint64_t max_runs; /* cluster runs for ddmin; 0: no bound */
	/* Progress, one line at a time (may be NULL). */
	void (*progress)(void *ctx, const char *line);
	void *ctx;
	/* Every event of the observed run (a recorder), and the checkpoint
	 * interval it wants. */
	void (*on_event)(void *ctx, const struct cc_obs_event *e);
	void *event_ctx; /* both callbacks' */
	uint64_t checkpoint_every;
};

struct cc_triage_result {
	struct cc_path minimal;
	struct cc_ddmin_stats st;
	size_t faults_before, faults_after;
	size_t choices_before, choices_after;
	size_t zeroed;	/* choices whose answer became 0 */
	uint64_t runs;	/* cluster runs in all */
	uint64_t ticks; /* where the minimal run ended */
	uint64_t trace_hash;
	struct cc_bug_sig bug; /* as the minimal run saw it */
	struct cc_triage_event timeline[CC_TRIAGE_MAX_TIMELINE];
	size_t ntimeline;
	uint64_t timeline_dropped;
};

/*
 * Shrinks r's path on s, a cluster just opened at its start for r (as
 * `run --reproduce` opens it): res->minimal, its counts, trace hash and
 * bug.  0 with res filled (res->minimal is the caller's to free,
 * cc_triage_result_free); 1 when r's own path does not end in its bug
 * (err says what it ended with); -1 with err.
 */
int cc_triage_shrink(struct cc_sim *s, const struct cc_repro *r,
		     const struct cc_triage_opts *o,
		     struct cc_triage_result *res, struct cc_err *err);
/* res->minimal (as r) run on s, another cluster just opened at its
 * start, observed: res's timeline and bug; -1 with err, also when the
 * run does not end in the bug with res->trace_hash. */
int cc_triage_observe(struct cc_sim *s, const struct cc_repro *r,
		      const struct cc_triage_opts *o,
		      struct cc_triage_result *res, struct cc_err *err);
void cc_triage_result_free(struct cc_triage_result *res);

#endif
