/*
 * The Explorer: a coverage-guided search over a scenario's fault
 * schedules and random choices, branching from cluster snapshots
 * (docs/EXPLORE.md).
 *
 * The root is the scenario at its gate (the first round after the
 * guests said setup_complete, as the gate counts them; tick 0 with no
 * gate).  A corpus entry is a cluster state - a snapshot, or the path
 * from the root that rebuilds it - and a template: the faults of the
 * branch that found it, relative to its fork.  Each round plans
 * `round` branches from the corpus as it stood at the round's start
 * (an entry by energy, then a mutation of its template: explore/mutate.h),
 * runs them, and merges their results in plan order, so a campaign seed
 * and branch budget give the same corpus and bugs whatever runs the
 * branches.  A branch that shows something new (an edge or count class
 * no branch had, a `sometimes`/`reachable` first satisfied) becomes an
 * entry at its end, so deep states are reached by branching, not by
 * re-running prefixes.  A bug (run/branch.h) is deduplicated by kind and
 * id, re-run along its path from the root, and reported only if it comes
 * back with the same trace hash; a branch during which the watchdog
 * fired is counted and never reported.
 *
 * The random baseline (cfg.random) runs every branch from the root with
 * a fresh random schedule to the scenario's end: no corpus, no feedback.
 */
#ifndef CC_EXPLORER_H
#define CC_EXPLORER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../run/branch.h"
#include "../run/coverage.h"
#include "../run/reproducer.h"
#include "mutate.h"
#include "worker.h"

struct cc_explorer;

struct cc_explore_config {
	uint64_t seed;	   /* the campaign's */
	uint64_t branches; /* budget; 0: until time_s */
	double time_s;	   /* wall budget; 0: none */
	uint64_t horizon;  /* ticks per branch */
	uint64_t ticks;	   /* the scenario's end: no entry past it */
	uint64_t stall_ticks;
	unsigned round;	      /* branches planned per round */
	unsigned max_faults;  /* per branch */
	size_t max_snapshots; /* live entry snapshots; others rebuilt */
	bool random;	      /* the baseline */
	bool choices; /* input-tree mode: branches force random draws too */
	bool combos;  /* a new fault/status combination is novelty too */
	bool kinds[CC_FAULT__COUNT];
	const char *out; /* the output directory (made by the caller) */
	bool resume;	 /* go on from out/state.json (explore/state.h) */
	/* For reproducers: what the campaign runs. */
	struct cc_repro base; /* scenario, hash, nodes, seed */
	/* Status (wall clock, never a result): after each branch. */
	void (*on_status)(void *ctx, const struct cc_explorer *x);
	void *ctx;
};

struct cc_entry {
	uint64_t id, parent;
	uint64_t tick; /* where its state is */
	uint64_t hash; /* the cluster trace hash there */
	struct cc_path path;
	struct cc_tmpl tmpl;
	struct cc_sim_snapshot *snap; /* NULL: rebuilt from an ancestor */
	unsigned owner;		      /* the worker whose cluster took snap */
	uint64_t picked, finds;	      /* branches from it, new entries */
	uint64_t last_used;	      /* branch count (snapshot eviction) */
	enum cc_mut_op op;
	uint64_t new_edges, new_goals, found_at; /* found_at: branch no. */
	uint64_t new_combos;			 /* fault/status pairs */
	bool retired; /* its state never came back from the root */
};

struct cc_found {
	struct cc_bug_sig sig;
	uint64_t branch, entry; /* where it was found */
	double found_s;		/* wall seconds into the campaign */
	struct cc_repro repro;
	char dir[64]; /* under bugs/ */
};

struct cc_explorer {
	struct cc_explore_config cfg;
	struct cc_explore_worker w[CC_EXPLORE_MAX_WORKERS];
	unsigned nworkers;
	struct cc_sim *s; /* worker 0's: verifies bugs */
	struct cc_entropy rng;
	struct cc_sim_snapshot *root; /* worker 0's */
	uint64_t root_tick;
	struct cc_entry *e;
	size_t n, cap, live_snaps;
	struct cc_coverage cov;
	struct cc_net_stats net; /* the frames of every branch, summed */
	struct cc_combos combos; /* fault/status combinations seen */
	char **goals;		 /* sometimes/reachable satisfied, sorted */
	size_t ngoals;
	struct cc_found *bug;
	size_t nbugs, cap_bugs;
	char *plot; /* plot_data so far (output.c) */
	size_t plot_len, plot_cap;
	/* Counters. */
	uint64_t branches, rounds, ticks_run;
	uint64_t watchdog_branches; /* not reproducible: never bugs */
	uint64_t watchdog_retries;  /* runs the watchdog cut (timing only) */
	uint64_t unverified;	    /* a bug that did not come back */
	uint64_t unstable_branches; /* three runs, three hashes: nothing */
	uint64_t outvoted;	    /* runs that did not repeat (timing only) */
	uint64_t rebuilds, restores;
	uint64_t divergences; /* rebuilds that missed the entry's hash */
	uint64_t last_find;   /* branch of the last new entry or bug */
	double t0, restore_s, run_s, verify_s; /* wall, reports only */
	double resumed_s; /* wall seconds before a --resume */
	uint64_t max_depth;
	uint64_t snap_bytes; /* last measured per snapshot */
};

/* Takes the workers' clusters (one per worker, each at its start, ready,
 * all of the same scenario) and runs each to the root; -1 with err. */
int cc_explore_init(struct cc_explorer *x, struct cc_sim *const *sims,
		    unsigned nsims, const struct cc_explore_config *cfg,
		    struct cc_err *err);
/* Runs the campaign to its budget, writing the output directory as it
 * goes; -1 with err (KVM failed, or a file could not be written). */
int cc_explore_run(struct cc_explorer *x, struct cc_err *err);
void cc_explore_free(struct cc_explorer *x);
/* Wall seconds since init (reports only). */
double cc_explore_elapsed(const struct cc_explorer *x);
/* The monotonic clock, for budgets and reports only: it never reaches a
 * guest or a campaign's result. */
double cc_explore_wall_s(void);

/* Does r show a bug the campaign has not reported (by kind and key)? */
bool cc_explore_has_new_bug(const struct cc_explorer *x,
			    const struct cc_branch_result *r);

#endif
