/*
 * Delta debugging (Zeller and Hildebrandt's ddmin) over a set of items:
 * the smallest subset the caller's test still fails on, found by
 * testing halves, then complements, then ever finer pieces.  It knows
 * nothing of clusters: triage (replay/triage.h) makes the items a
 * path's faults and choices and the test a run of the cluster.
 *
 * The result is 1-minimal when the search ran to its end: every single
 * item removed from it was tested and the failure went away.  A budget
 * of tests stops it early (then it is smaller, not minimal).  The same
 * test outcomes give the same tests in the same order: no randomness.
 */
#ifndef CC_REPLAY_DDMIN_H
#define CC_REPLAY_DDMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"

#define CC_DDMIN_MAX_ITEMS 1024u

/* 1: the failure happens with the items keep[] marks, 0: it does not,
 * -1: the test itself failed (err says why; the search stops). */
typedef int (*cc_ddmin_test)(void *ctx, const bool *keep, size_t n,
			     struct cc_err *err);

struct cc_ddmin_stats {
	uint64_t tests;	 /* the caller's test called */
	uint64_t cached; /* subsets asked again, answered from memory */
	size_t before, after;
	bool minimal; /* 1-minimal: the search ran to its end */
	bool budget;  /* stopped by max_tests */
};

/*
 * Shrinks the n items (all failing together: tested first) into keep[]
 * (n bools, the caller's).  max_tests bounds the calls of test (0: no
 * bound).  Returns 0 with keep[] the result; 1 when all n items do not
 * fail (nothing to shrink: keep[] all true); -1 with err.
 */
int cc_ddmin(size_t n, cc_ddmin_test test, void *ctx, uint64_t max_tests,
	     bool *keep, struct cc_ddmin_stats *st, struct cc_err *err);

#endif
