/*
 * Driving a cluster (struct cc_sim) to its horizon: the loop `run`, and
 * later the explorer, replay and workers, share.  It knows nothing of
 * terminals: after each round it calls back (a progress bar, a budget).
 */
#ifndef CC_DRIVE_H
#define CC_DRIVE_H

#include <stdint.h>

#include "../base/err.h"
#include "../sim/controller.h"

struct cc_drive {
	uint64_t ticks; /* the horizon */
	/* With snap non-NULL: the cluster is snapshotted into *snap when
	 * it reaches tick snap_at (once, if *snap is NULL then). */
	uint64_t snap_at;
	struct cc_sim_snapshot **snap;
	void (*on_round)(void *ctx, const struct cc_sim *s);
	void *ctx;
};

/* Rounds until the horizon or every VM is done; -1 with err. */
int cc_drive(struct cc_sim *s, const struct cc_drive *d, struct cc_err *err);

/*
 * Restores snap `repeats` times and drives each to the horizon again:
 * every run must end with the hash `want` (the uninterrupted run's).
 * Returns how many did not, -1 with err; *first_bad gets the first
 * differing hash.
 */
long cc_drive_restore_check(struct cc_sim *s, const struct cc_drive *d,
			    struct cc_sim_snapshot *snap, uint64_t repeats,
			    uint64_t want, uint64_t *first_bad,
			    struct cc_err *err);

#endif
