/*
 * The Explorer's workers (docs/EXPLORE.md, "Workers").  Each worker owns
 * a cluster of its own, booted from the same scenario and run to the
 * same root, and that root's snapshot.  A round's branches are given out
 * to the workers by where their entries' snapshots live (a worker
 * restores only the snapshots its own cluster took, and rebuilds any
 * other state from its nearest own ancestor), run concurrently, and each
 * leaves an outcome.  The explorer merges the outcomes in plan order, so
 * how many workers there are, and which one ran a branch, changes a
 * campaign's wall time, never its result.
 *
 * While a round runs, the explorer is read-only to every worker: the
 * merge, the only writer, runs when they are all done.
 */
#ifndef CC_EXPLORE_WORKER_H
#define CC_EXPLORE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../fault/oracle.h"
#include "../run/branch.h"
#include "mutate.h"

#define CC_EXPLORE_MAX_WORKERS 16u

struct cc_explorer;

/* A planned branch: an entry, a mutation of its template, the fork it
 * makes, where it ends. */
struct cc_plan {
	size_t entry;
	enum cc_mut_op op;
	struct cc_fork fork;
	struct cc_tmpl tmpl; /* the fork's faults, relative */
	uint64_t until;
	unsigned worker; /* who runs it: wall time only, never a result */
};

/* What one branch left for the merge. */
struct cc_outcome {
	int rc; /* -1: KVM failed (err) */
	struct cc_err err;
	bool retired; /* the entry's state never came back: not run */
	struct cc_branch_result res; /* res.cov: CC_COVERAGE_SIZE, ours */
	/* The end state, taken when the branch may be new against the
	 * corpus as the round began (the merge decides; it frees it when
	 * not). */
	struct cc_sim_snapshot *snap;
	bool snap_by_merge; /* taken on worker 0's cluster (explorer.c) */
	/* Its runs gave three trace hashes (confirm(), worker.c): it
	 * counts for nothing. */
	bool unstable;
	/* For the counters and `timing`. */
	uint64_t watchdog_retries, restores, rebuilds, divergences;
	uint64_t outvoted; /* runs whose hash the first run's did not match */
	double restore_s, run_s;
};

/* r (its coverage buffer malloc'd) becomes o's result: o keeps its own
 * coverage buffer, r's is freed and r is left empty. */
void cc_outcome_take(struct cc_outcome *o, struct cc_branch_result *r);

struct cc_explore_worker {
	unsigned id;
	struct cc_sim *s;
	struct cc_sim_snapshot *root;
	uint64_t done; /* branches run (the status screen) */
};

/* Runs w's cluster from its start to the scenario's gate and snapshots
 * it there: *tick and *hash say where it is.  -1 with err. */
int cc_worker_root(struct cc_explore_worker *w, uint64_t end, uint64_t *tick,
		   uint64_t *hash, struct cc_err *err);

/* Gives each of the n plans a worker, least finishing time first: a
 * branch costs one on the worker holding its entry's snapshot, and one
 * more per fork to re-run on any other (docs/EXPLORE.md). */
void cc_workers_assign(const struct cc_explorer *x, struct cc_plan *p,
		       unsigned n);

/* Runs the n plans on their workers, concurrently (the calling thread
 * is worker 0), each into its outcome; the workers only read x.  -1
 * with err when a thread could not start; a branch's own failure is in
 * its outcome (rc -1; 1 for a plan its worker did not reach). */
int cc_workers_round(struct cc_explorer *x, const struct cc_plan *p,
		     struct cc_outcome *o, unsigned n, struct cc_err *err);

/* A `sometimes` that passed or a `reachable` reached. */
bool cc_goal_met(const struct cc_property *p);

/*
 * Fault/status combinations, a novelty beside edges and goals: for each
 * fault a branch dispatched, the status at the branch's end of the VM it
 * acted on (of every VM, for partitions and heals); bit s of bits[k] is
 * (kind k, status s).  A crash whose VM is still killed at the end, a
 * pause whose VM never came back, ... each is seen once.
 */
#define CC_COMBO_STATUSES 5 /* enum cc_vm_status */
struct cc_combos {
	uint8_t bits[CC_FAULT__COUNT];
};

void cc_branch_combos(const struct cc_plan *p, const struct cc_branch_result *r,
		      struct cc_combos *c);
/* The combinations in c not in seen. */
unsigned cc_combos_new(const struct cc_combos *c, const struct cc_combos *seen);

#endif
